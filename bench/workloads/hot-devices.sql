-- NEXMark q5 (hot items): readings per device over a 10-second window
-- sliding every 2 seconds, then the busiest device of each window. The
-- second step groups across devices, so it crosses an exchange to a stage
-- of its own.
WITH counts AS (
    SELECT deviceId, COUNT(*) AS readings
    FROM telemetry TIMESTAMP BY eventTime
    GROUP BY deviceId, HoppingWindow(second, 10, 2)
)
SELECT TopOne() OVER (ORDER BY readings DESC) AS busiest,
       System.Timestamp() AS windowEnd
INTO hot
FROM counts
GROUP BY System.Timestamp()
