-- Anomaly detection: each device's temperature scored against its last 120
-- readings for spikes (adaptive kernel density) and level shifts
-- (exchangeability martingale); the alerts are the anomalous readings.
-- State: per device, two detectors of 120 values each.
WITH scored AS (
  SELECT deviceId, temperature, eventTime,
         AnomalyDetection_SpikeAndDip(temperature, 95, 120, 'spikesanddips')
           OVER (PARTITION BY deviceId LIMIT DURATION(minute, 10)) AS spike,
         AnomalyDetection_ChangePoint(temperature, 95, 120)
           OVER (PARTITION BY deviceId LIMIT DURATION(minute, 10)) AS change
  FROM telemetry TIMESTAMP BY eventTime
)
SELECT deviceId, temperature, eventTime, spike.Score AS spikeScore, change.Score AS changeScore
INTO anomalies
FROM scored
WHERE spike.IsAnomaly = 1 OR change.IsAnomaly = 1
