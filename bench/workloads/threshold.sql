-- NEXMark q1/q2 (projection, selection): a stateless alert on each reading
-- above a threshold. Only the overheating devices pass.
SELECT deviceId, temperature, eventTime
INTO alerts
FROM telemetry TIMESTAMP BY eventTime
WHERE temperature > 75
