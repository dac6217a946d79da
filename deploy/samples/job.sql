-- The sample job: per-device 10-second averages, and an alert whenever a
-- device's average runs above 75 degrees.
WITH averages AS (
    SELECT deviceId,
           AVG(temperature) AS avgTemp,
           MAX(temperature) AS maxTemp,
           COUNT(*) AS readings,
           System.Timestamp() AS windowEnd
    FROM telemetry TIMESTAMP BY eventTime
    GROUP BY deviceId, TumblingWindow(second, 10)
)
SELECT * INTO aggregates FROM averages

SELECT deviceId, avgTemp, maxTemp, windowEnd
INTO alerts
FROM averages
WHERE avgTemp > 75
