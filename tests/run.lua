-- tests/run.lua — runs the whole moonforge test suite and prints its totals.
--
--   moonforge tests/run.lua --build DIR [--sanitize] [-v] [-j N]
--                           [--timeout SECONDS] [PART...]
--
-- The parts are the C unit tests (DIR/test_core), every tests/test_*.lua
-- LuaUnit file and the ```lua blocks of README.md and docs/*.md (one part
-- per markdown file, run by tests/doctest.lua). Each part is a child process
-- whose output goes to a temporary file, so a crash or a leak report stays
-- with the part that caused it. A part's output is shown only when it failed
-- (always with -v). The last line is always "N passed, M failed", which CI
-- reads; the exit status is 0 iff M is 0.
--
-- PART names a part to run instead of all of them: "test_core",
-- "tests/test_cli.lua", "README.md", "docs/nn.md", "docs" (every markdown
-- part). Any other existing *.lua or *.md file is run as a LuaUnit file or a
-- markdown file, which is how the runner's own fixtures are exercised.

local USAGE = [[
usage: moonforge tests/run.lua --build DIR [--sanitize] [-v] [-j N]
                               [--timeout SECONDS] [PART...]
  --build DIR       build directory holding test_core and moonforge
  --sanitize        also fail a part whose output holds a sanitizer report
  -v                show every part's output, not only the failed ones
  -j N              parts run at once (default 2)
  --timeout S       seconds before a part is killed (default 900)
  PART              test_core, tests/test_x.lua, README.md, docs/x.md, docs]]

-- Text that ASan, LSan and UBSan print when they find something. A report
-- does not always change the exit status (e.g. a leak in a child process
-- whose output a test only prints), so the text itself is a failure.
local SANITIZER_MARKS = {
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
}

---------------------------------------------------------------- helpers

package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local quote, read_file, write_file, capture =
    support.quote, support.read_file, support.write_file, support.capture

local function lines(cmd)
    local t = {}
    for l in capture(cmd):gmatch("[^\n]+") do t[#t + 1] = l end
    return t
end

local function die(msg)
    io.stderr:write("run.lua: ", msg, "\n")
    os.exit(2)
end

---------------------------------------------------------------- options

local function parse_args(argv)
    local opt = { build = "build", jobs = 2, timeout = 900, filters = {} }
    local i = 1
    local function value(name)
        i = i + 1
        return argv[i] or die(name .. " needs a value\n" .. USAGE)
    end
    while argv[i] do
        local a = argv[i]
        if a == "--build" then opt.build = value(a)
        elseif a == "--sanitize" then opt.sanitize = true
        elseif a == "-v" or a == "--verbose" then opt.verbose = true
        elseif a == "-j" then opt.jobs = math.tointeger(tonumber(value(a)))
        elseif a == "--timeout" then opt.timeout = math.tointeger(tonumber(value(a)))
        elseif a == "-h" or a == "--help" then print(USAGE) os.exit(0)
        elseif a:sub(1, 1) == "-" then die("unknown option " .. a .. "\n" .. USAGE)
        else opt.filters[#opt.filters + 1] = a
        end
        i = i + 1
    end
    if not opt.jobs or opt.jobs < 1 then die("-j needs a positive integer") end
    if not opt.timeout or opt.timeout < 1 then die("--timeout needs a positive integer") end
    return opt
end

---------------------------------------------------------------- counting
-- Each parser reads a part's output and returns passed, failed and, when
-- the output lacks its closing summary, a reason (the run then counts one
-- failure more: the tests after a crash never ran).

local function last_match(text, pattern)
    local found
    for a, b, c in text:gmatch(pattern) do found = { a, b, c } end
    if found then return table.unpack(found) end
end

local function count_ctest(out)
    local ok, failed = last_match(out, "ctest: (%d+) ok, (%d+) failed")
    if ok then return tonumber(ok), tonumber(failed) end
    -- No closing line: count the cases that did report.
    local n_ok, n_fail = 0, 0
    for l in out:gmatch("[^\n]+") do
        if l:find("^ok   ") then n_ok = n_ok + 1
        elseif l:find("^FAIL ") then n_fail = n_fail + 1 end
    end
    return n_ok, n_fail, "no closing 'ctest:' line (crashed?)"
end

-- LuaUnit 3.4 TextOutput ends with M.LuaUnit.statusLine:
--   Ran N tests in X.XXX seconds, S success(es)[, F failure(s)][, E error(s)]
--   [, K skipped][, K non-selected]
-- with "0 failures" when nothing failed. Not anchored to the line start:
-- stderr text can land in the middle of a buffered stdout line.
local function count_luaunit(out)
    local ran, rest = last_match(out, "Ran (%d+) tests in [%d.]+ seconds, ([^\n]*)")
    if not ran then return 0, 0, "no LuaUnit summary line (died before the end?)" end
    local passed = tonumber(rest:match("(%d+) success") or 0)
    local failed = tonumber(rest:match("(%d+) failure") or 0)
        + tonumber(rest:match("(%d+) error") or 0)
    if tonumber(ran) == 0 then
        -- Test functions LuaUnit did not recognise (no "test" prefix) would
        -- otherwise pass silently.
        return passed, failed, "LuaUnit ran no tests"
    end
    return passed, failed
end

local function count_doctest(out)
    local ok, failed = last_match(out, "doctest: (%d+) ok, (%d+) failed")
    if ok then return tonumber(ok), tonumber(failed) end
    return 0, 0, "no closing 'doctest:' line (crashed?)"
end

local COUNTERS = { ctest = count_ctest, luaunit = count_luaunit, doctest = count_doctest }

local function describe_status(rc)
    if rc == 124 then return "timed out" end
    if rc == 137 then return "killed by signal 9 (timed out, or out of memory)" end
    if rc > 128 then return "killed by signal " .. (rc - 128) end
    return "exited with status " .. rc
end

-- Turns a finished part's output and exit status into its counts.
-- At most one failure is added for the ways a part can fail outside its
-- own counting: they usually share one cause (a sanitizer abort is also a
-- missing summary and a non-zero exit).
local function judge(part, out, rc, opt)
    local passed, failed, why = COUNTERS[part.kind](out)
    local reasons = {}
    if why then reasons[#reasons + 1] = why end
    -- The status also tells how a part without its summary ended.
    if rc ~= 0 and (failed == 0 or why) then reasons[#reasons + 1] = describe_status(rc) end
    if opt.sanitize then
        for _, mark in ipairs(SANITIZER_MARKS) do
            if out:find(mark, 1, true) then
                reasons[#reasons + 1] = "sanitizer report: " .. mark
            end
        end
    end
    if #reasons > 0 then failed = failed + 1 end
    return { passed = passed, failed = failed, reasons = reasons, output = out }
end

---------------------------------------------------------------- parts

local function exists(path)
    local f = io.open(path, "rb")
    if f then f:close() end
    return f ~= nil
end

-- Every part is { name, kind, cmd }; cmd is run by sh in the repo root.
local function make_parts(root, build, opt)
    local exe = build .. "/moonforge"
    local function luaunit(name, path)
        return { name = name, kind = "luaunit",
                 cmd = quote(exe) .. " " .. quote(path) .. " -o text" }
    end
    local function doc(name, path)
        return { name = name, kind = "doctest", doc = true,
                 cmd = quote(exe) .. " tests/doctest.lua --exe " .. quote(exe)
                     .. (opt.sanitize and " --sanitize" or "") .. " " .. quote(path) }
    end

    local all = { { name = "test_core", kind = "ctest", cmd = quote(build .. "/test_core") } }
    local in_root = "cd " .. quote(root) .. " && ls -1 "
    for _, f in ipairs(lines(in_root .. "tests/test_*.lua 2>/dev/null")) do
        all[#all + 1] = luaunit(f, f)
    end
    for _, f in ipairs(lines(in_root .. "README.md docs/*.md 2>/dev/null")) do
        all[#all + 1] = doc(f, f)
    end
    if #opt.filters == 0 then return all end

    local chosen, seen = {}, {}
    local function choose(p)
        if not seen[p.name] then seen[p.name] = true chosen[#chosen + 1] = p end
    end
    for _, want in ipairs(opt.filters) do
        local hit = false
        for _, p in ipairs(all) do
            if p.name == want or (want == "docs" and p.doc)
                or (want == "core" and p.kind == "ctest") then
                choose(p)
                hit = true
            end
        end
        if not hit and exists(want) then
            -- A file outside the default set: children run in the repo root,
            -- so give them a path from there (absolute when outside it).
            local dir, base = want:match("^(.*/)([^/]*)$")
            local path = capture("cd " .. quote(dir or ".") .. " && pwd") .. "/" .. (base or want)
            if path:sub(1, #root + 1) == root .. "/" then path = path:sub(#root + 2) end
            if path:find("%.lua$") then choose(luaunit(path, path)) hit = true
            elseif path:find("%.md$") then choose(doc(path, path)) hit = true end
        end
        if not hit then die("no test part named " .. want .. "\n" .. USAGE) end
    end
    return chosen
end

---------------------------------------------------------------- running

-- Runs the parts, opt.jobs at a time, through `xargs -P`: plain Lua cannot
-- wait for one of several children, but it can read the line each job
-- prints when it ends. on_done(index, status, seconds) is called as parts
-- end.
local function run_parts(parts, tmp, root, build, opt, on_done)
    local has_timeout = os.execute("command -v timeout >/dev/null 2>&1")
    for i, p in ipairs(parts) do
        local cmd = p.cmd
        if has_timeout then
            -- -k: a child that ignores SIGTERM is killed 10 s later.
            cmd = "timeout -k 10 " .. opt.timeout .. " " .. cmd
        end
        write_file(("%s/%d.sh"):format(tmp, i), table.concat({
            "cd " .. quote(root) .. " || exit 125",
            "MOONFORGE_EXE=" .. quote(build .. "/moonforge"),
            "export MOONFORGE_EXE",
            cmd,
        }, "\n") .. "\n")
    end
    -- job.sh N: runs part N and prints "N status start end" (times in ns
    -- from GNU date) as one short write, which the pipe keeps whole when
    -- two jobs end together.
    local d = quote(tmp)
    write_file(tmp .. "/job.sh", table.concat({
        'start=$(date +%s%N)',
        'sh ' .. d .. '/"$1.sh" >' .. d .. '/"$1.out" 2>&1 </dev/null',
        'rc=$?',
        'echo "$1 $rc $start $(date +%s%N)"',
    }, "\n") .. "\n")

    local ids = {}
    for i = 1, #parts do ids[i] = tostring(i) end
    local driver = ("printf '%%s\\n' %s | xargs -n 1 -P %d sh %s"):format(
        table.concat(ids, " "), opt.jobs, quote(tmp .. "/job.sh"))
    local p = assert(io.popen(driver, "r"))
    for l in p:lines() do
        local i, rc, t0, t1 = l:match("^(%d+) (%d+) (%S+) (%S+)$")
        if i then
            -- Without GNU date the times are not numbers: no duration then.
            local ns = tonumber(t0) and tonumber(t1) and tonumber(t1) - tonumber(t0)
            on_done(tonumber(i), tonumber(rc), ns and ns / 1e9 or 0)
        end
    end
    p:close()
end

---------------------------------------------------------------- report

local function dots(name, width)
    return "  " .. name .. " " .. ("."):rep(math.max(3, width - #name)) .. " "
end

local function show(part, res, secs, width, opt)
    local failed = res.failed > 0
    if failed or opt.verbose then
        print(("---- %s: output ----"):format(part.name))
        io.write(res.output)
        if res.output ~= "" and not res.output:find("\n$") then io.write("\n") end
        print(("---- end of %s ----"):format(part.name))
    end
    local line = dots(part.name, width) .. ("%d ok, %d failed"):format(res.passed, res.failed)
    if secs >= 1 then line = line .. ("  (%.1fs)"):format(secs) end
    if #res.reasons > 0 then line = line .. "  [" .. table.concat(res.reasons, "; ") .. "]" end
    print(line)
    io.stdout:flush()
end

---------------------------------------------------------------- main

local function main(argv)
    local opt = parse_args(argv)
    io.stdout:setvbuf("line")

    -- The repo root is the parent of this file's directory; children run
    -- there and get absolute paths, whatever the caller's directory.
    local here = (arg and arg[0] or "tests/run.lua"):match("^(.*)/[^/]*$") or "."
    local root = capture("cd " .. quote(here .. "/..") .. " && pwd")
    local build = capture("cd " .. quote(opt.build) .. " 2>/dev/null && pwd")
    if build == "" then die("build directory " .. opt.build .. " not found") end

    local parts = make_parts(root, build, opt)
    local width = 36
    for _, p in ipairs(parts) do width = math.max(width, #p.name + 4) end

    local tmp = capture("mktemp -d \"${TMPDIR:-/tmp}/moonforge-tests.XXXXXX\"")
    if tmp == "" then die("mktemp failed") end

    -- Parts end in any order; report them in suite order so that the
    -- output reads the same from run to run.
    local results, next_shown = {}, 1
    local total_passed, total_failed, failed_names = 0, 0, {}
    local function report(i)
        local r = results[i] or {   -- never reported: the driver itself failed
            res = { passed = 0, failed = 1, reasons = { "did not run" }, output = "" },
            secs = 0,
        }
        show(parts[i], r.res, r.secs, width, opt)
        total_passed = total_passed + r.res.passed
        total_failed = total_failed + r.res.failed
        if r.res.failed > 0 then failed_names[#failed_names + 1] = parts[i].name end
    end
    run_parts(parts, tmp, root, build, opt, function(i, rc, secs)
        local out = read_file(("%s/%d.out"):format(tmp, i)) or ""
        results[i] = { res = judge(parts[i], out, rc, opt), secs = secs }
        while results[next_shown] do
            report(next_shown)
            next_shown = next_shown + 1
        end
    end)
    os.execute("rm -rf " .. quote(tmp))
    for i = next_shown, #parts do report(i) end

    if #failed_names > 0 then print("failed parts: " .. table.concat(failed_names, ", ")) end
    print(("%d passed, %d failed"):format(total_passed, total_failed))
    os.exit(total_failed == 0 and 0 or 1)
end

main(arg or {})
