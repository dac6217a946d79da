-- NEXMark q7-like: per-device 10-second tumbling statistics, with an alert
-- when a device's average runs hot.
SELECT deviceId,
       COUNT(*) AS readings,
       AVG(temperature) AS avgTemp,
       MIN(temperature) AS minTemp,
       MAX(temperature) AS maxTemp,
       System.Timestamp() AS windowEnd
INTO alerts
FROM telemetry TIMESTAMP BY eventTime
GROUP BY deviceId, TumblingWindow(second, 10)
HAVING AVG(temperature) > 70
