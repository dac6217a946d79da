-- threshold.sql with its filter in a JavaScript UDF: one call per event.
-- Beside `threshold`, the difference is the cost of a UDF call (a batch
-- round trip to the task's JavaScript host process, amortised over 1024
-- rows, and the call itself).
SELECT deviceId, temperature, eventTime
INTO alerts
FROM telemetry TIMESTAMP BY eventTime
WHERE udf.fahrenheit(temperature) > 167
