-- NEXMark q0 (pass-through): every event, whole, to the output. The floor
-- of ingest: decode, re-serialize, write.
SELECT *
INTO passthrough
FROM telemetry
