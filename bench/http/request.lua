-- wrk script for bench/http/run.py. Environment (read once per thread):
--   BENCH_METHOD   GET (default) or POST
--   BENCH_PATHS    paths separated by "|", taken in turn
--   BENCH_AUTHS    "token,profile" pairs separated by "|", taken in turn (Authorization +
--                  X-Profile-Id); empty: no API credentials
--   BENCH_COOKIE   a Cookie header value; empty: none
--   BENCH_BODY     a request body (JSON) sent with POST
-- Each thread starts at its own offset so threads do not send the same sequence.
local function split(s)
  local out = {}
  for part in string.gmatch(s or "", "[^|]+") do out[#out + 1] = part end
  return out
end

local threads = 0
function setup(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end

local paths, auths, method, cookie, body, n

function init(args)
  paths = split(os.getenv("BENCH_PATHS"))
  auths = split(os.getenv("BENCH_AUTHS"))
  method = os.getenv("BENCH_METHOD") or "GET"
  cookie = os.getenv("BENCH_COOKIE") or ""
  body = os.getenv("BENCH_BODY")
  if body == "" then body = nil end
  n = offset or 0
end

function request()
  n = n + 1
  local headers = { ["Accept"] = "*/*" }
  if #auths > 0 then
    local token, profile = string.match(auths[(n % #auths) + 1], "([^,]+),([^,]+)")
    headers["Authorization"] = "Bearer " .. token
    headers["X-Profile-Id"] = profile
  end
  if cookie ~= "" then headers["Cookie"] = cookie end
  if body then headers["Content-Type"] = "application/json" end
  return wrk.format(method, paths[(n % #paths) + 1], headers, body)
end
