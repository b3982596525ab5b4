//! The Lua scripts that make each ledger step one atomic server-side operation.
//!
//! Keys per budget and period: a hash `genops:budget:<id>:<period_start>` with `consumed` and
//! `reserved`, and a sorted set `genops:holds:<id>:<period_start>` of the reservations in it,
//! member `<amount>:<call_id>`, score the hold's expiry (ms, Redis clock). A replica that dies
//! mid-call never settles; its holds expire and the next reserve on that budget releases them,
//! so the fleet does not leak budget. Numbers cross Lua as doubles: exact up to 2^53 nano-USD
//! ($9M) per counter, far past any single period's budget.

use once_cell::sync::Lazy;
use redis::Script;

/// Shared Lua: the Redis clock in ms, and releasing a budget's expired holds.
const PRELUDE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function release_expired(hash, holds)
  local expired = redis.call('ZRANGEBYSCORE', holds, '-inf', now, 'LIMIT', 0, 256)
  for _, m in ipairs(expired) do
    local amount = string.match(m, '^(%d+):')
    if amount and amount ~= '0' then redis.call('HINCRBY', hash, 'reserved', '-' .. amount) end
    redis.call('ZREM', holds, m)
  end
end
local function retain(key, secs)
  if tonumber(secs) > 0 then redis.call('EXPIRE', key, secs) end
end
"#;

/// KEYS: per budget, its hash then its holds. ARGV: amount, min_amount, call_id, hold_ttl_ms,
/// then per budget: limit, enforced (1/0), cut_stream (1/0), retain_secs.
/// Returns {0, refusing budget index (1-based), consumed, reserved} or
/// {1, granted, then per budget: consumed, reserved}.
const RESERVE: &str = r#"
local n = #KEYS / 2
local amount = tonumber(ARGV[1])
local min_amount = tonumber(ARGV[2])
local consumed, reserved = {}, {}
for i = 1, n do
  release_expired(KEYS[2 * i - 1], KEYS[2 * i])
  local v = redis.call('HMGET', KEYS[2 * i - 1], 'consumed', 'reserved')
  consumed[i] = v[1] or '0'
  reserved[i] = v[2] or '0'
end
local granted = amount
local refusing, refusing_room = nil, nil
for i = 1, n do
  local a = 4 + (i - 1) * 4
  if ARGV[a + 2] == '1' then
    local room = tonumber(ARGV[a + 1]) - tonumber(consumed[i]) - tonumber(reserved[i])
    if room < 0 then room = 0 end
    if room < amount then
      if ARGV[a + 3] == '1' and room >= min_amount then
        if room < granted then granted = room end
      elseif refusing == nil or room < refusing_room then
        refusing, refusing_room = i, room
      end
    end
  end
end
if refusing then
  return {0, refusing, consumed[refusing], reserved[refusing]}
end
local g = string.format('%d', granted)
local out = {1, granted}
for i = 1, n do
  local a = 4 + (i - 1) * 4
  local r = redis.call('HINCRBY', KEYS[2 * i - 1], 'reserved', g)
  redis.call('ZADD', KEYS[2 * i], now + tonumber(ARGV[4]), g .. ':' .. ARGV[3])
  retain(KEYS[2 * i - 1], ARGV[a + 4])
  retain(KEYS[2 * i], ARGV[a + 4])
  table.insert(out, consumed[i])
  table.insert(out, r)
end
return out
"#;

/// KEYS: per checked budget its hash and holds, then per budget holding the reservation its
/// hash and holds. ARGV: extra, old member, new member, new amount, hold_ttl_ms, checked count,
/// then per checked budget: limit, enforced. Returns {0} or {1, then per checked budget:
/// consumed, reserved}.
const EXTEND: &str = r#"
local extra = tonumber(ARGV[1])
local nc = tonumber(ARGV[6])
local nh = #KEYS / 2 - nc
for i = 1, nc + nh do release_expired(KEYS[2 * i - 1], KEYS[2 * i]) end
for i = 1, nc do
  local a = 6 + (i - 1) * 2
  if ARGV[a + 2] == '1' then
    local v = redis.call('HMGET', KEYS[2 * i - 1], 'consumed', 'reserved')
    local room = tonumber(ARGV[a + 1]) - tonumber(v[1] or '0') - tonumber(v[2] or '0')
    if room < extra then return {0} end
  end
end
for i = nc + 1, nc + nh do
  local hash, holds = KEYS[2 * i - 1], KEYS[2 * i]
  -- A hold that already expired was released: hold the whole new amount again.
  local add = ARGV[4]
  if redis.call('ZREM', holds, ARGV[2]) == 1 then add = ARGV[1] end
  redis.call('HINCRBY', hash, 'reserved', add)
  redis.call('ZADD', holds, now + tonumber(ARGV[5]), ARGV[3])
end
local out = {1}
for i = 1, nc do
  local v = redis.call('HMGET', KEYS[2 * i - 1], 'consumed', 'reserved')
  table.insert(out, v[1] or '0')
  table.insert(out, v[2] or '0')
end
return out
"#;

/// KEYS: per budget holding the reservation its hash and holds, then per debited budget its
/// hash, then the spend set. ARGV: hold member ('' for none), held amount, actual, hold count,
/// record JSON, record time_ms, max records, then per debited budget: retain_secs.
/// Returns per debited budget: consumed, reserved.
const SETTLE: &str = r#"
local nh = tonumber(ARGV[4])
local spend = KEYS[#KEYS]
local nd = #KEYS - 1 - 2 * nh
if ARGV[1] ~= '' then
  for i = 1, nh do
    if redis.call('ZREM', KEYS[2 * i], ARGV[1]) == 1 and ARGV[2] ~= '0' then
      redis.call('HINCRBY', KEYS[2 * i - 1], 'reserved', '-' .. ARGV[2])
    end
  end
end
local out = {}
for i = 1, nd do
  local hash = KEYS[2 * nh + i]
  local c = redis.call('HINCRBY', hash, 'consumed', ARGV[3])
  retain(hash, ARGV[7 + i])
  table.insert(out, c)
  table.insert(out, redis.call('HGET', hash, 'reserved') or '0')
end
redis.call('ZADD', spend, ARGV[6], ARGV[5])
local over = redis.call('ZCARD', spend) - tonumber(ARGV[7])
if over > 0 then redis.call('ZREMRANGEBYRANK', spend, 0, over - 1) end
return out
"#;

/// KEYS: keys hash, revoked set. ARGV: name. Returns 1 when the key exists.
const REVOKE: &str = r#"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"#;

fn with_prelude(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

pub static RESERVE_SCRIPT: Lazy<Script> = Lazy::new(|| with_prelude(RESERVE));
pub static EXTEND_SCRIPT: Lazy<Script> = Lazy::new(|| with_prelude(EXTEND));
pub static SETTLE_SCRIPT: Lazy<Script> = Lazy::new(|| with_prelude(SETTLE));
pub static REVOKE_SCRIPT: Lazy<Script> = Lazy::new(|| Script::new(REVOKE));
