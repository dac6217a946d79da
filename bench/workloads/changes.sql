-- Analytic functions: a reading that rose more than 5 degrees over the
-- device's previous one (LAG per device within a minute), and whether it
-- is the device's first hot reading of its 10-second interval (ISFIRST).
-- State: the last reading per device, and the current interval per device.
SELECT deviceId, temperature,
       LAG(temperature) OVER (PARTITION BY deviceId LIMIT DURATION(minute, 1)) AS previous,
       ISFIRST(second, 10) OVER (PARTITION BY deviceId WHEN temperature > 90) AS firstHot
INTO rises
FROM telemetry TIMESTAMP BY eventTime
WHERE temperature - LAG(temperature) OVER (PARTITION BY deviceId LIMIT DURATION(minute, 1)) > 5
