-- NEXMark q11 (user sessions): per-device activity sessions that end after
-- 5 seconds without a reading, or after a minute. OVER (PARTITION BY) makes
-- them per device; without it a session spans every device's events (one
-- timeline, sql/README.md), which no partitioning can share out.
SELECT deviceId,
       COUNT(*) AS readings,
       MAX(temperature) AS maxTemp,
       System.Timestamp() AS sessionEnd
INTO sessions
FROM telemetry TIMESTAMP BY eventTime
GROUP BY deviceId, SessionWindow(second, 5, 60) OVER (PARTITION BY deviceId)
