-- wrk script for benchmarks/bench_web.py: the same kind of requests as its Python client, from a file it writes.
--
--   wrk -t1 -c50 -d3s -s benchmarks/bench_web_wrk.lua http://127.0.0.1:PORT -- REQUESTS_FILE
--
-- REQUESTS_FILE: line 1 the headers every request carries ("Name: value" joined by tabs; the cookie, the CSRF token
-- and Accept-Encoding, whose value may hold commas and spaces, not tabs or colons), then one request a
-- line: METHOD <tab> PATH [<tab> JSON BODY]. They are sent in order, each once; if the run outlasts the list it
-- starts again and says so (`wrapped`: the repeats would be answered from the server's cache, so bench_web.py
-- refuses the figure). No response() function on purpose: with one, wrk hands every 165 KB body to Lua, which
-- nearly doubles its CPU per request; the status of every response is still counted (errors.status), and
-- bench_web.py's own client checks a sample of bodies from the same server.

local requests = {}
local next_index = 0
wrapped = 0 -- a global: done() reads it through thread:get

function init(args)
  local headers, first = {}, true
  for line in io.lines(args[1]) do
    if first then
      for name, value in line:gmatch("([^\t:]+): ([^\t]*)") do headers[name] = value end
      first = false
    else
      local method, target, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
      local own = {}
      for k, v in pairs(headers) do own[k] = v end
      if body == "" then body = nil else own["Content-Type"] = "application/json" end
      requests[#requests + 1] = wrk.format(method, target, own, body)
    end
  end
end

function request()
  next_index = next_index + 1
  if next_index > #requests then
    next_index, wrapped = 1, 1
  end
  return requests[next_index]
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, _requests)
  local wrapped_any = 0
  for _, t in ipairs(threads) do wrapped_any = math.max(wrapped_any, t:get("wrapped")) end
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"n": %d, "seconds": %.6f, "p50": %.3f, "p95": %.3f, "p99": %.3f, "mean": %.3f, ' ..
    '"bad_status": %d, "socket_errors": %d, "wrapped": %d, "bytes": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.mean / 1000, e.status, e.connect + e.read + e.write + e.timeout,
    wrapped_any, summary.bytes))
end
