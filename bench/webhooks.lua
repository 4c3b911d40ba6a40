-- SPDX-License-Identifier: MIT
-- webhooks.lua - wrk script for bench/run.sh: replays pre-signed Twilio webhooks.
--
-- Signing happens per body (the signature covers every parameter, CallSid included),
-- so the requests are signed ahead of time by `loadgen gen` into a file of lines
--   path TAB X-Twilio-Signature TAB form-body
-- each with a fresh CallSid. Every wrk thread loads its own share of the lines
-- (line k goes to thread k mod BENCH_WRK_THREADS) and sends them in order; when a
-- thread runs past the end of its share it starts again, and those repeats reach
-- maskd as retried webhooks (read path, no write). run.sh sizes the file so that
-- does not happen, and reports maskd's own count of retries from /metrics.
--
-- Environment: BENCH_REQUESTS (the file), BENCH_WRK_THREADS (wrk -t), BENCH_WRK_JSON
-- (where done() writes its summary).

local threads = {}
local counter = 0

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local reqs, n, i = {}, 0, 0

function init(args)
   local nthreads = tonumber(os.getenv("BENCH_WRK_THREADS") or "1")
   local me = tid or 0
   local f = assert(io.open(os.getenv("BENCH_REQUESTS"), "r"))
   local k = 0
   for line in f:lines() do
      if k % nthreads == me then
         local path, sig, body = line:match("^([^\t]+)\t([^\t]+)\t(.*)$")
         n = n + 1
         reqs[n] = wrk.format("POST", path, {
            ["Content-Type"] = "application/x-www-form-urlencoded",
            ["X-Twilio-Signature"] = sig,
         }, body)
      end
      k = k + 1
   end
   f:close()
   assert(n > 0, "no requests in " .. os.getenv("BENCH_REQUESTS"))
end

function request()
   i = i + 1
   if i > n then i = 1 end
   return reqs[i]
end

function done(summary, latency, requests)
   local out = os.getenv("BENCH_WRK_JSON")
   if not out then return end
   local f = assert(io.open(out, "w"))
   local e = summary.errors
   f:write(string.format(
      '{"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%.1f,"p90":%.1f,"p99":%.1f,"p99_9":%.1f,"max":%.1f,"mean":%.1f}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency:percentile(99.9), latency.max, latency.mean))
   f:close()
end
