-- NEXMark q8 (window join) in ASA's form: a time-bounded self-join of the
-- telemetry stream. A reading, then another of the same device within a
-- minute that is more than 15 degrees hotter. Both sides keep every
-- reading of the last minute (10,000 devices at 1 reading/s: 600,000 rows
-- a side), and each reading meets the ~60 of its device within the bound.
SELECT a.deviceId, a.temperature AS before, b.temperature AS after, b.eventTime
INTO rises
FROM telemetry a TIMESTAMP BY eventTime
JOIN telemetry b TIMESTAMP BY eventTime
ON a.deviceId = b.deviceId AND DATEDIFF(second, a, b) BETWEEN 1 AND 60
AND b.temperature - a.temperature > 15
