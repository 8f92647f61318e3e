-- wrk script for the soak: mixed traffic at a fixed rate per connection.
-- 7 in 10 requests POST a reading, 3 in 10 read a page of history; each connection waits
-- SOAK_DELAY_MS between its requests so the total rate is what the driver asked for.
local token = os.getenv("BENCH_TOKEN")
local delay_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "0")
local counter = 0
local reading = '{"heart_rate": 78.5, "ecg": 0.42, "emg": 0.18, "gsr": 0.63, "respiration": 0.35}'

request = function()
  counter = counter + 1
  local headers = { ["Authorization"] = "Bearer " .. token }
  if counter % 10 < 7 then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", "/api/predict", headers, reading)
  end
  return wrk.format("GET", "/api/predictions?page_size=20", headers)
end

delay = function()
  return delay_ms
end

done = function(summary, latency, requests)
  io.write(string.format(
    "RESULT requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
