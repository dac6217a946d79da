-- NEXMark q13 (bounded side-input join): each reading joined with its
-- device's row of reference data (a threshold per device, 10,000 rows
-- shared by every task), alerting above the device's own threshold.
SELECT t.deviceId, t.temperature, r.maxTemp, r.site, t.eventTime
INTO alerts
FROM telemetry t TIMESTAMP BY eventTime
JOIN thresholds r ON t.deviceId = r.deviceId
WHERE t.temperature > r.maxTemp
