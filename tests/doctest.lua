-- tests/doctest.lua — runs the ```lua blocks of markdown files, so that the
-- docs stay true.
--
--   moonforge tests/doctest.lua [--exe PATH] [--sanitize] [-v]
--                               [--timeout SECONDS] [FILE.md...]
--
-- Without FILE, it reads README.md and docs/*.md. Every fenced block whose
-- info string starts with "lua" runs as its own process (the moonforge
-- executable on a temporary copy of the block, in the repo root), unless
-- the second word of the info string is "norun". When an ```output block
-- follows the block (only blank lines between), the block's stdout must
-- equal it, ignoring trailing spaces and trailing blank lines. A block
-- fails on a non-zero exit or a different output.
--
-- It prints "ok   FILE:LINE" or "FAIL FILE:LINE" (with the reason) per block
-- and closes with "doctest: N ok, M failed" (tests/run.lua reads that line);
-- the exit status is 0 iff nothing failed.

local USAGE = [[
usage: moonforge tests/doctest.lua [--exe PATH] [--sanitize] [-v]
                                   [--timeout SECONDS] [FILE.md...]
  --exe PATH     the moonforge executable (default $MOONFORGE_EXE,
                 else build/moonforge)
  --sanitize     also fail a block whose output holds a sanitizer report
  -v             list skipped (norun) blocks too
  --timeout S    seconds before a block is killed (default 300)]]

local SANITIZER_MARKS = {
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
}

-- Lines of an excerpt shown around the first difference of an output.
local DIFF_LINES = 6
-- Lines of stderr/stdout shown for a failed block.
local SHOW_LINES = 30

---------------------------------------------------------------- helpers

package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local quote, read_file, write_file, capture =
    support.quote, support.read_file, support.write_file, support.capture

local function split_lines(s)
    local t = {}
    for l in (s .. "\n"):gmatch("(.-)\r?\n") do t[#t + 1] = l end
    if s:find("\n$") then t[#t] = nil end -- "a\n" is one line, not two
    return t
end

local function die(msg)
    io.stderr:write("doctest.lua: ", msg, "\n")
    os.exit(2)
end

---------------------------------------------------------------- markdown

local function info_words(info)
    local w = {}
    for word in info:gmatch("%S+") do w[#w + 1] = word end
    return w
end

-- Returns the fenced blocks of a markdown text: { line (of the opening
-- fence), lang, norun, body = {lines}, after_blank (only blank lines since
-- the previous block closed), unclosed }. Fences follow CommonMark: ``` or
-- ~~~, at least three, indented by at most three spaces; the closing fence
-- is as long or longer and has no info string.
local function parse_blocks(text)
    local blocks, open = {}, nil
    local gap_blank = false -- only blank lines since the last closing fence
    for n, l in ipairs(split_lines(text)) do
        if open then
            local fence = l:match("^ ? ? ?([`~]+)%s*$")
            if fence and fence:sub(1, 1) == open.char and #fence >= open.len
                and not fence:find("[^" .. open.char .. "]") then
                blocks[#blocks + 1] = open.block
                open, gap_blank = nil, true
            else
                -- Content loses up to the opening fence's indentation.
                local strip = #open.indent
                local lead = #l:match("^ *")
                open.block.body[#open.block.body + 1] = l:sub(math.min(strip, lead) + 1)
            end
        else
            local indent, fence, info = l:match("^( ? ? ?)(```+)([^`]*)$")
            if not fence then indent, fence, info = l:match("^( ? ? ?)(~~~+)(.*)$") end
            if fence then
                local words = info_words(info)
                open = {
                    char = fence:sub(1, 1), len = #fence, indent = indent,
                    block = { line = n, lang = words[1], norun = words[2] == "norun",
                              body = {}, after_blank = gap_blank },
                }
            elseif l:find("%S") then
                gap_blank = false
            end
        end
    end
    if open then
        open.block.unclosed = true
        blocks[#blocks + 1] = open.block
    end
    return blocks
end

---------------------------------------------------------------- comparing

local function normalize(text_lines)
    local t = {}
    for i, l in ipairs(text_lines) do t[i] = (l:gsub("%s+$", "")) end
    while #t > 0 and t[#t] == "" do t[#t] = nil end
    return t
end

-- A diff-like excerpt from the first line where got differs from want:
-- a little shared context, then "-" expected and "+" actual lines.
local function diff_excerpt(want, got)
    local first = 1
    while first <= #want and first <= #got and want[first] == got[first] do
        first = first + 1
    end
    local out = { ("first difference at output line %d:"):format(first) }
    for i = math.max(1, first - 2), first - 1 do out[#out + 1] = "  " .. want[i] end
    local function part(t, sign)
        local last = math.min(#t, first + DIFF_LINES - 1)
        for i = first, last do out[#out + 1] = sign .. " " .. t[i] end
        if #t > last then out[#out + 1] = ("%s (%d more lines)"):format(sign, #t - last) end
        if first > #t then out[#out + 1] = sign .. " (end of output)" end
    end
    part(want, "-")
    part(got, "+")
    return out
end

local function tail(text, n)
    local t = split_lines(text)
    local out = {}
    if #t > n then out[1] = ("... (%d lines before)"):format(#t - n) end
    for i = math.max(1, #t - n + 1), #t do out[#out + 1] = t[i] end
    return out
end

---------------------------------------------------------------- running

local function make_runner(opt, root, tmp)
    local has_timeout = os.execute("command -v timeout >/dev/null 2>&1")
    local prefix = "cd " .. quote(root) .. " && MOONFORGE_EXE=" .. quote(opt.exe) .. " "
        .. (has_timeout and ("timeout -k 10 " .. opt.timeout .. " ") or "")
        .. quote(opt.exe) .. " "
    local count = 0

    -- Runs one block; returns nil when it passed, else a list of lines
    -- saying why.
    return function(file, block, expected)
        count = count + 1
        local src = ("%s/b%d.lua"):format(tmp, count)
        local out_path, err_path = src .. ".out", src .. ".err"
        write_file(src, table.concat(block.body, "\n") .. "\n")
        local ok, how, code = os.execute(prefix .. quote(src) .. " >" .. quote(out_path)
            .. " 2>" .. quote(err_path) .. " </dev/null")
        local out, err = read_file(out_path) or "", read_file(err_path) or ""

        -- Point Lua's "tmpfile:N:" locations at the markdown line.
        local function relocate(s)
            return (s:gsub(src:gsub("%p", "%%%0") .. ":(%d+):", function(k)
                return ("%s:%d:"):format(file, block.line + tonumber(k))
            end))
        end
        out, err = relocate(out), relocate(err)

        local why = {}
        if not ok then
            if how == "signal" then
                why[#why + 1] = "killed by signal " .. code
            elseif code == 124 then
                why[#why + 1] = ("timed out after %d s"):format(opt.timeout)
            elseif code > 128 then -- sh reports a child's death by signal so
                why[#why + 1] = "killed by signal " .. (code - 128)
            else
                why[#why + 1] = "exited with status " .. code
            end
        end
        if opt.sanitize then
            for _, mark in ipairs(SANITIZER_MARKS) do
                if (out .. err):find(mark, 1, true) then
                    why[#why + 1] = "sanitizer report: " .. mark
                end
            end
        end
        if expected then
            local want, got = normalize(expected.body), normalize(split_lines(out))
            local same = #want == #got
            for i = 1, #want do same = same and want[i] == got[i] end
            if not same then
                why[#why + 1] = ("stdout differs from the output block at %s:%d"):format(
                    file, expected.line)
                for _, l in ipairs(diff_excerpt(want, got)) do why[#why + 1] = "  " .. l end
            end
        end
        if #why == 0 then return nil end
        if not expected and out ~= "" then
            why[#why + 1] = "stdout:"
            for _, l in ipairs(tail(out, SHOW_LINES)) do why[#why + 1] = "  " .. l end
        end
        if err ~= "" then
            why[#why + 1] = "stderr:"
            for _, l in ipairs(tail(err, SHOW_LINES)) do why[#why + 1] = "  " .. l end
        end
        return why
    end
end

-- Runs the lua blocks of the file at path, shown as name; returns the
-- counts of blocks that passed, failed and were not run.
local function check_file(path, name, run, opt)
    local text = read_file(path)
    if not text then
        print(("FAIL %s: cannot read the file"):format(name))
        return 0, 1, 0
    end
    local blocks = parse_blocks(text)
    local n_ok, n_failed, n_skipped = 0, 0, 0
    for i, b in ipairs(blocks) do
        local where = ("%s:%d"):format(name, b.line)
        if b.unclosed then
            print(("FAIL %s: code block never closed"):format(where))
            n_failed = n_failed + 1
        elseif b.lang == "lua" and b.norun then
            n_skipped = n_skipped + 1
            if opt.verbose then print("skip " .. where .. " (norun)") end
        elseif b.lang == "lua" then
            local nxt = blocks[i + 1]
            local expected = nxt and nxt.lang == "output" and nxt.after_blank and nxt or nil
            local why = run(name, b, expected)
            if why then
                n_failed = n_failed + 1
                print(("FAIL %s: %s"):format(where, why[1]))
                for k = 2, #why do print("    " .. why[k]) end
            else
                n_ok = n_ok + 1
                print("ok   " .. where)
            end
        end
    end
    return n_ok, n_failed, n_skipped
end

---------------------------------------------------------------- main

local function parse_args(argv)
    local opt = { timeout = 300, files = {} }
    local i = 1
    local function value(name)
        i = i + 1
        return argv[i] or die(name .. " needs a value\n" .. USAGE)
    end
    while argv[i] do
        local a = argv[i]
        if a == "--exe" then opt.exe = value(a)
        elseif a == "--sanitize" then opt.sanitize = true
        elseif a == "-v" or a == "--verbose" then opt.verbose = true
        elseif a == "--timeout" then opt.timeout = math.tointeger(tonumber(value(a)))
        elseif a == "-h" or a == "--help" then print(USAGE) os.exit(0)
        elseif a:sub(1, 1) == "-" then die("unknown option " .. a .. "\n" .. USAGE)
        else opt.files[#opt.files + 1] = a
        end
        i = i + 1
    end
    if not opt.timeout or opt.timeout < 1 then die("--timeout needs a positive integer") end
    return opt
end

local function main(argv)
    local opt = parse_args(argv)
    io.stdout:setvbuf("line")

    -- Blocks run in the repo root (the parent of this file's directory), so
    -- that a block's relative paths mean the same as for a reader there.
    local here = (arg and arg[0] or "tests/doctest.lua"):match("^(.*)/[^/]*$") or "."
    local root = capture("cd " .. quote(here .. "/..") .. " && pwd")

    -- The executable is called from the root: make its path absolute.
    local exe = opt.exe or os.getenv("MOONFORGE_EXE") or (root .. "/build/moonforge")
    local dir, name = exe:match("^(.*)/([^/]*)$")
    if not dir then dir, name = ".", exe end
    local abs_dir = capture("cd " .. quote(dir == "" and "/" or dir) .. " 2>/dev/null && pwd")
    if abs_dir == "" then die("no directory for the executable " .. exe) end
    opt.exe = abs_dir .. "/" .. name

    local files = {}
    for i, f in ipairs(opt.files) do files[i] = { path = f, name = f } end
    if #files == 0 then
        for f in capture("cd " .. quote(root) .. " && ls -1 README.md docs/*.md 2>/dev/null")
            :gmatch("[^\n]+") do
            files[#files + 1] = { path = root .. "/" .. f, name = f }
        end
    end

    local tmp = capture("mktemp -d \"${TMPDIR:-/tmp}/moonforge-doc.XXXXXX\"")
    if tmp == "" then die("mktemp failed") end
    local run = make_runner(opt, root, tmp)
    local ok, failed, skipped = 0, 0, 0
    for _, f in ipairs(files) do
        local a, b, c = check_file(f.path, f.name, run, opt)
        ok, failed, skipped = ok + a, failed + b, skipped + c
    end
    os.execute("rm -rf " .. quote(tmp))

    print(("doctest: %d ok, %d failed%s"):format(ok, failed,
        skipped > 0 and (", %d not run (norun)"):format(skipped) or ""))
    os.exit(failed == 0 and 0 or 1)
end

main(arg or {})
