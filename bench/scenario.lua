-- wrk script for one benchmark scenario.
-- Arguments (after --): <token> <path> [max_page]
-- "{page}" in the path is replaced, per request, by a random page number from 1 to max_page.
local token, template, max_page

function init(args)
  token = args[1]
  template = args[2]
  max_page = tonumber(args[3] or "1")
  math.randomseed(os.time() * 1000 + math.floor(os.clock() * 1000000))
  if token ~= nil and token ~= "" then
    wrk.headers["X-Auth-Token"] = token
  end
end

function request()
  local path = template
  if max_page > 1 then
    path = string.gsub(template, "{page}", tostring(math.random(1, max_page)))
  else
    path = string.gsub(template, "{page}", "1")
  end
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests":%d,"duration_us":%d,"bytes":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
