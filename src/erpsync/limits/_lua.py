"""The Lua scripts :class:`~erpsync.limits.RedisLimiter` runs inside Redis.

Each decision (admit or wait, throttle, recover, renew) is one script, so it is atomic
across every process and host that shares the keys, and each reads the time from the
server (``TIME``), never from a client: leases and windows are on one clock however far
the workers' clocks drift. Times are integer microseconds (exact in a double until the
year 2255).

Keys of one tenant (all in one Redis Cluster hash slot through the ``{...}`` tag):

* ``slots``: a sorted set, member = a held slot's token, score = its lease's expiry;
* ``pause``: a string whose ``PX`` TTL is the pause a 429's ``Retry-After`` asked for;
* ``adapt``: a hash (``rate`` factor, concurrency ``level``, time of the last ``cut``)
  with a ``PX`` TTL, so that a slow-down nobody renews fades back to the configuration;
* ``queue:<scope>``: a sorted set of the waiters of one scope, member = token, score =
  ticket (first come, first served: only the lowest ticket may be admitted);
* ``alive:<scope>``: member = a waiting token, score = its ticket lease's expiry;
* ``tickets``: the counter the tickets are drawn from;
* one sorted set per rate window: member = token, score = when its request was answered
  (or, while it is still out, its lease's expiry, renewed with the slot's): a request
  counts in a window from its admission until ``per`` after its answer, as
  :class:`~erpsync.limits.LocalLimiter` counts it, because the service counts it on
  arrival, which is never later than the answer. A request whose worker died counts
  until its lease runs out, plus ``per``.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ACQUIRE", "LEAVE", "RECOVER", "RELEASE", "RENEW", "THROTTLE"]

#: Shared prologue: the server's time, and the tenant's adaptive state.
_NOW: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
"""

#: KEYS: slots, pause, adapt, queue, alive, tickets, window...; ARGV: token, lease_us,
#: concurrency (0: none), ticket (0: take a new one), ticket_lease_us, late_us, then
#: count and per_us for each window.
#:
#: First-come first-served: a waiter takes a ticket (``INCR tickets``) on its first call
#: and is admitted only when the places free now (in the gate and in every window) are
#: enough for it and every older live ticket of its queue, so no one is overtaken by
#: more than the places that free up at once, and several waiters can take several
#: freed places without waiting for each other in turn; every call renews the
#: ticket's lease (``alive``), and tickets whose lease ran out (a killed waiter) are
#: dropped, so a dead waiter holds the queue up for one ticket lease at most. A waiter
#: whose ticket was dropped while it was slow to ask again passes its number back and
#: keeps its place.
#:
#: Returns {status, wait_us, rate, level, now_us, ticket, ahead}: status 0 admitted,
#: 1 wait wait_us (a pause, or until a window has room for it and the ``ahead`` older
#: waiters), 2 the gate is full (poll: releases are not signalled), 3 its turn depends
#: on the ``ahead`` older waiters being admitted first (poll).
ACQUIRE: Final = (
    _NOW
    + """
local token, lease, conc = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ticket, ticket_lease = tonumber(ARGV[4]), tonumber(ARGV[5])
local function extend(key, ms)  -- never shortens: another waiter may sleep longer
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
local queue_ttl = math.ceil(ticket_lease / 1000) + 1000
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now)) do
  redis.call('ZREM', KEYS[4], dead)
end
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
if ticket == 0 then ticket = redis.call('INCR', KEYS[6]) end
redis.call('ZADD', KEYS[4], ticket, token)
redis.call('ZADD', KEYS[5], now + ticket_lease, token)
for i = 4, 6 do extend(KEYS[i], queue_ttl) end
local rate = tonumber(redis.call('HGET', KEYS[3], 'rate') or '1')
local level = tonumber(redis.call('HGET', KEYS[3], 'level') or ARGV[3])
-- Older waiters that are late (asked for the last time, or were due, more than
-- ``late`` ago: a descheduled thread, a slow host) do not hold the others up meanwhile;
-- they are still older than everyone behind them when they ask again.
local ahead, punctual = 0, now + ticket_lease - tonumber(ARGV[6])
for _, older in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. ticket)) do
  if tonumber(redis.call('ZSCORE', KEYS[5], older) or '0') >= punctual then
    ahead = ahead + 1
  end
end
-- Admitted only if the places free now cover every older waiter and this one.
local status, wait, unknown = 0, 0, false
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then status, wait = 1, pause * 1000 end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if conc > 0
  and redis.call('ZCARD', KEYS[1]) + ahead >= math.max(1, math.floor(level + 1e-9)) then
  status = 2
end
for i = 7, #KEYS do
  local count, per = tonumber(ARGV[2 * i - 7]), tonumber(ARGV[2 * i - 6])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - per)
  local held = redis.call('ZCARD', KEYS[i])
  local excess = held + ahead - math.max(1, math.floor(count * rate + 1e-9))
  if excess >= 0 then
    if status == 0 then status = 1 end
    local entry = excess < held and redis.call('ZRANGE', KEYS[i], excess, excess, 'WITHSCORES')
    if entry and tonumber(entry[2]) <= now then
      -- this entry leaving (``per`` after its answer) makes room for the older waiters
      -- and this one
      wait = math.max(wait, tonumber(entry[2]) + per - now)
    else
      -- still out (its answer starts its countdown), or the older waiters'
      -- admissions decide when: ask again
      unknown = true
    end
  end
end
if status == 1 and unknown then status = 3 end
if status == 1 then
  -- it sleeps the whole wait: keep its ticket alive that long
  redis.call('ZADD', KEYS[5], now + wait + ticket_lease, token)
  for i = 4, 6 do extend(KEYS[i], math.ceil((wait + ticket_lease) / 1000) + 1000) end
elseif status == 0 then
  redis.call('ZREM', KEYS[4], token)
  redis.call('ZREM', KEYS[5], token)
  if conc > 0 then
    redis.call('ZADD', KEYS[1], now + lease, token)
    redis.call('PEXPIRE', KEYS[1], math.ceil(lease / 1000) + 1)
  end
  for i = 7, #KEYS do
    -- out until answered: counted until its lease's expiry, moved to the answer's time
    -- by RELEASE
    redis.call('ZADD', KEYS[i], now + lease, token)
    extend(KEYS[i], math.ceil((lease + tonumber(ARGV[2 * i - 6])) / 1000) + 1)
  end
end
return {status, tostring(wait), tostring(rate), tostring(level), now, ticket, ahead}
"""
)

#: KEYS: queue, alive; ARGV: token. A waiter that gives up (its timeout, an exception)
#: leaves the queue at once instead of holding it up until its ticket lease runs out.
LEAVE: Final = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""

#: KEYS: slots, window...; ARGV: lease_us, then per_us of each window, then the tokens.
#: Extends the leases still held, the slot's and the window entries of requests still out
#: (an entry already moved to its answer's time is left there); returns how many tokens
#: were still held (a lease that already expired is not revived: its place may be taken).
RENEW: Final = (
    _NOW
    + """
local lease, windows = tonumber(ARGV[1]), #KEYS - 1
local renewed = 0
for i = 2 + windows, #ARGV do
  local token, held = ARGV[i], 0
  held = held + redis.call('ZADD', KEYS[1], 'XX', 'CH', now + lease, token)
  for w = 2, #KEYS do
    local score = redis.call('ZSCORE', KEYS[w], token)
    if score and tonumber(score) > now then
      redis.call('ZADD', KEYS[w], 'XX', now + lease, token)
      local ms = math.ceil((lease + tonumber(ARGV[w])) / 1000) + 1
      if redis.call('PTTL', KEYS[w]) < ms then redis.call('PEXPIRE', KEYS[w], ms) end
      held = 1
    end
  end
  if held > 0 then renewed = renewed + 1 end
end
if renewed > 0 then redis.call('PEXPIRE', KEYS[1], math.ceil(lease / 1000) + 1) end
return renewed
"""
)

#: KEYS: slots, window...; ARGV: token, then per_us of each window. The answer (or the
#: failure) came: the slot is given back and the request's window entries are moved to
#: now, so that each window counts it until ``per`` after its answer.
RELEASE: Final = (
    _NOW
    + """
local token = ARGV[1]
redis.call('ZREM', KEYS[1], token)
for w = 2, #KEYS do
  if redis.call('ZADD', KEYS[w], 'XX', 'CH', now, token) > 0 then
    local ms = math.ceil(tonumber(ARGV[w]) / 1000) + 1
    if redis.call('PTTL', KEYS[w]) < ms then redis.call('PEXPIRE', KEYS[w], ms) end
  end
end
return 1
"""
)

#: KEYS: pause, adapt; ARGV: pause_ms (0: none), adaptive (0/1), concurrency, min_rate,
#: cooldown_us, memory_ms. Extends the pause (never shortens it) and, at most once per
#: cooldown, halves the rate factor and the concurrency level: eight workers that see the
#: same burst of 429s slow the tenant down once, not eight times.
THROTTLE: Final = (
    _NOW
    + """
local pause_ms = tonumber(ARGV[1])
if pause_ms > 0 and redis.call('PTTL', KEYS[1]) < pause_ms then
  redis.call('SET', KEYS[1], '1', 'PX', pause_ms)
end
if ARGV[2] == '1' then
  local cut = tonumber(redis.call('HGET', KEYS[2], 'cut') or '-1e18')
  if now - cut >= tonumber(ARGV[5]) then
    local rate = tonumber(redis.call('HGET', KEYS[2], 'rate') or '1')
    local level = tonumber(redis.call('HGET', KEYS[2], 'level') or ARGV[3])
    rate = math.max(tonumber(ARGV[4]), rate / 2)
    level = math.max(1, math.floor(level / 2))
    redis.call('HSET', KEYS[2], 'rate', tostring(rate), 'level', tostring(level), 'cut', now)
  end
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
return 1
"""
)

#: KEYS: adapt; ARGV: concurrency, rate_step. Additive increase: the rate factor by
#: rate_step, the level by 1/level (one place per round of successes, as TCP does). The
#: hash goes away once both are back at the configuration. Returns {rate, level}.
RECOVER: Final = """
local rate = redis.call('HGET', KEYS[1], 'rate')
if not rate then return {'1', ARGV[1]} end
local conc = tonumber(ARGV[1])
local level = tonumber(redis.call('HGET', KEYS[1], 'level') or ARGV[1])
rate = math.min(1, tonumber(rate) + tonumber(ARGV[2]))
if conc > 0 then level = math.min(conc, level + 1 / level) end
if rate >= 1 and level + 1e-9 >= conc then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'rate', tostring(rate), 'level', tostring(level))
end
return {tostring(rate), tostring(level)}
"""
