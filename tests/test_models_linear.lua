-- mf.models linear regressors (LinearRegression, Ridge, Lasso, ElasticNet,
-- SGDRegressor) against independent plain-Lua computations: a Householder QR
-- least-squares solve, the NIST certified values of the Longley data, the
-- minimum-norm solution of a duplicated column, the ridge gradient and the
-- lasso / elastic-net KKT conditions, and the errors.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local assert_error = support.assert_error
local mf = require "moonforge"
local Mo = mf.models

-- A deterministic n x p matrix of plain Lua numbers (uniform in about [-1, 1]).
local function lua_matrix(n, p, seed)
    local s = seed or 7
    local rows = {}
    for i = 1, n do
        rows[i] = {}
        for j = 1, p do
            s = (s * 1103515245 + 12345) % 2147483648
            rows[i][j] = s / 1073741824 - 1
        end
    end
    return rows
end

-- Least squares in plain Lua by Householder QR of [1, X] (or X): returns the
-- coefficients and the intercept (0 without).
local function lua_lstsq(X, y, intercept)
    local n, p = #X, #X[1]
    local A, b = {}, {}
    local q = intercept and p + 1 or p
    for i = 1, n do
        A[i] = {}
        if intercept then A[i][1] = 1 end
        for j = 1, p do A[i][j + (intercept and 1 or 0)] = X[i][j] end
        b[i] = y[i]
    end
    for k = 1, q do
        local norm = 0
        for i = k, n do norm = norm + A[i][k] ^ 2 end
        norm = math.sqrt(norm)
        local alpha = A[k][k] > 0 and -norm or norm
        local v = {}
        for i = k, n do v[i] = A[i][k] end
        v[k] = v[k] - alpha
        local vv = 0
        for i = k, n do vv = vv + v[i] ^ 2 end
        for j = k, q do
            local s = 0
            for i = k, n do s = s + v[i] * A[i][j] end
            for i = k, n do A[i][j] = A[i][j] - 2 * s / vv * v[i] end
        end
        local s = 0
        for i = k, n do s = s + v[i] * b[i] end
        for i = k, n do b[i] = b[i] - 2 * s / vv * v[i] end
    end
    local x = {}
    for k = q, 1, -1 do
        local s = b[k]
        for j = k + 1, q do s = s - A[k][j] * x[j] end
        x[k] = s / A[k][k]
    end
    if intercept then
        local c = {}
        for j = 1, p do c[j] = x[j + 1] end
        return c, x[1]
    end
    return x, 0
end

local function rel_close(got, want, tol, msg)
    lu.assertTrue(math.abs(got - want) <= tol * math.abs(want) + 1e-300,
                  ("%s: got %.17g, want %.17g"):format(msg or "", got, want))
end

-- y = X w + 3 + noise, in plain Lua.
local function make_problem(n, p, seed)
    local X = lua_matrix(n, p, seed)
    local noise = lua_matrix(n, 1, seed + 1)
    local y = {}
    for i = 1, n do
        local s = 3
        for j = 1, p do s = s + X[i][j] * ((-1) ^ j * j) end
        y[i] = s + 0.1 * noise[i][1]
    end
    return X, y
end

local function T(rows) return mf.tensor(rows, "float64") end

---------------------------------------------------------------- LinearRegression
function test_ols_matches_qr_reference_every_solver()
    local X, y = make_problem(60, 4, 11)
    local c, b = lua_lstsq(X, y, true)
    for _, solver in ipairs{"auto", "cholesky", "qr", "svd"} do
        local m = Mo.LinearRegression{solver = solver}:fit(T(X), T(y))
        lu.assertEquals(m.coef:shape(), {4})
        local got = m.coef:totable()
        for j = 1, 4 do rel_close(got[j], c[j], 1e-8, solver .. " coef " .. j) end
        rel_close(m.intercept, b, 1e-8, solver .. " intercept")
        lu.assertEquals(m.rank, 4)
        lu.assertEquals(m.n_features_in, 4)
        lu.assertEquals(m.solver_used, solver == "auto" and "cholesky" or solver)
    end
end

function test_ols_without_intercept_and_int_input()
    local X, y = make_problem(30, 3, 5)
    local c = lua_lstsq(X, y, false)
    local m = Mo.LinearRegression{fit_intercept = false}:fit(T(X), T(y))
    for j = 1, 3 do rel_close(m.coef:totable()[j], c[j], 1e-8, "coef") end
    lu.assertEquals(m.intercept, 0)
    -- int64 X is converted; exact line
    local m2 = Mo.LinearRegression():fit(mf.tensor({{1}, {2}, {3}, {4}}, "int64"), {3, 5, 7, 9})
    rel_close(m2.coef:totable()[1], 2, 1e-12, "slope")
    lu.assertTrue(math.abs(m2.intercept - 1) < 1e-12)
end

function test_ols_large_offsets_stay_accurate()
    -- columns with means far above their spread: centering must not cancel
    local X, y = make_problem(50, 3, 21)
    for i = 1, #X do X[i][1] = X[i][1] + 1e6; X[i][2] = X[i][2] * 1e-3 - 5e4 end
    local c, b = lua_lstsq(X, y, true)
    local m = Mo.LinearRegression():fit(T(X), T(y))
    for j = 1, 3 do rel_close(m.coef:totable()[j], c[j], 1e-7, "coef " .. j) end
    rel_close(m.intercept, b, 1e-7, "intercept")
end

function test_ols_two_targets()
    local X, y1 = make_problem(40, 3, 3)
    local _, y2 = make_problem(40, 3, 4)
    local Y = {}
    for i = 1, 40 do Y[i] = {y1[i], 2 * y2[i] - 1} end
    local m = Mo.LinearRegression():fit(T(X), T(Y))
    lu.assertEquals(m.coef:shape(), {2, 3})
    lu.assertEquals(m.intercept:shape(), {2})
    for k, yk in ipairs{y1, (function() local t = {} for i = 1, 40 do t[i] = Y[i][2] end return t end)()} do
        local c, b = lua_lstsq(X, yk, true)
        for j = 1, 3 do rel_close(m.coef:totable()[k][j], c[j], 1e-8, "coef") end
        rel_close(m.intercept:totable()[k], b, 1e-8, "intercept")
    end
    local P = m:predict(T(X))
    lu.assertEquals(P:shape(), {40, 2})
end

-- NIST StRD Longley (Longley 1967): y = Employed; GNP deflator, GNP,
-- Unemployed, Armed forces, Population, Year.
local LONGLEY = {
    {60323, 83.0, 234289, 2356, 1590, 107608, 1947},
    {61122, 88.5, 259426, 2325, 1456, 108632, 1948},
    {60171, 88.2, 258054, 3682, 1616, 109773, 1949},
    {61187, 89.5, 284599, 3351, 1650, 110929, 1950},
    {63221, 96.2, 328975, 2099, 3099, 112075, 1951},
    {63639, 98.1, 346999, 1932, 3594, 113270, 1952},
    {64989, 99.0, 365385, 1870, 3547, 115094, 1953},
    {63761, 100.0, 363112, 3578, 3350, 116219, 1954},
    {66019, 101.2, 397469, 2904, 3048, 117388, 1955},
    {67857, 104.6, 419180, 2822, 2857, 118734, 1956},
    {68169, 108.4, 442769, 2936, 2798, 120445, 1957},
    {66513, 110.8, 444546, 4681, 2637, 121950, 1958},
    {68655, 112.6, 482704, 3813, 2552, 123366, 1959},
    {69564, 114.2, 502601, 3931, 2514, 125368, 1960},
    {69331, 115.7, 518173, 4806, 2572, 127852, 1961},
    {70551, 116.9, 554894, 4007, 2827, 130081, 1962},
}
local LONGLEY_B0 = -3482258.63459582
local LONGLEY_B = {15.0618722713733, -0.358191792925910e-1, -2.02022980381683,
                   -1.03322686717359, -0.511041056535807e-1, 1829.15146461355}
local LONGLEY_R2 = 0.995479004577296

function test_longley_certified_values()
    local X, y = {}, {}
    for i, r in ipairs(LONGLEY) do
        y[i] = r[1]
        X[i] = {table.unpack(r, 2)}
    end
    for _, solver in ipairs{"auto", "qr", "svd"} do
        local m = Mo.LinearRegression{solver = solver}:fit(T(X), T(y))
        for j = 1, 6 do rel_close(m.coef:totable()[j], LONGLEY_B[j], 1e-7, solver .. " B" .. j) end
        rel_close(m.intercept, LONGLEY_B0, 1e-7, solver .. " B0")
        rel_close(m:score(T(X), T(y)), LONGLEY_R2, 1e-10, solver .. " R2")
    end
    -- the scaled, centered Gram matrix of Longley is moderately conditioned
    local m = Mo.LinearRegression():fit(T(X), T(y))
    lu.assertTrue(m.rcond > 1e-9 and m.rcond < 1e-3, tostring(m.rcond))
end

function test_auto_detects_ill_conditioning()
    -- x2 = x1 + 1e-7 * e: cond(X)^2 ~ 1e14, the normal equations would lose
    -- about 1e-2 relative; auto must detect it and solve by QR
    local X, y = make_problem(50, 3, 61)
    local e = lua_matrix(50, 1, 62)
    for i = 1, 50 do X[i][2] = X[i][1] + 1e-7 * e[i][1] end
    local c, b = lua_lstsq(X, y, true)
    local m = Mo.LinearRegression():fit(T(X), T(y))
    lu.assertEquals(m.solver_used, "qr")
    lu.assertTrue(m.rcond < 1e-7)
    for j = 1, 3 do rel_close(m.coef:totable()[j], c[j], 1e-5, "coef " .. j) end
    rel_close(m.intercept, b, 1e-8, "intercept")
    local q = Mo.LinearRegression{solver = "qr"}:fit(T(X), T(y))
    for j = 1, 3 do rel_close(q.coef:totable()[j], c[j], 1e-5, "qr coef " .. j) end
end

function test_rank_deficient_min_norm()
    local X, y = make_problem(30, 3, 9)
    local D = {}
    for i = 1, 30 do D[i] = {X[i][1], X[i][2], X[i][3], X[i][2]} end -- column 4 = column 2
    local c, b = lua_lstsq(X, y, true)
    for _, solver in ipairs{"auto", "cholesky", "qr", "svd"} do
        local m
        local w = mf.capture_warnings(function()
            m = Mo.LinearRegression{solver = solver}:fit(T(D), T(y))
        end)
        lu.assertEquals(#w, 1, solver)
        lu.assertStrContains(w[1], "rank deficient (rank 3 of 4 columns)")
        lu.assertEquals(m.rank, 3)
        lu.assertEquals(m.solver_used, "svd")
        local got = m.coef:totable()
        -- the pinv solution splits the coefficient of the duplicated column evenly
        rel_close(got[1], c[1], 1e-8, "c1")
        rel_close(got[3], c[3], 1e-8, "c3")
        rel_close(got[2], c[2] / 2, 1e-8, "c2")
        rel_close(got[4], c[2] / 2, 1e-8, "c4")
        rel_close(m.intercept, b, 1e-8, "b")
    end
end

function test_wide_design_interpolates()
    -- 4 rows, 6 columns: the centered X has rank 3; the minimum-norm fit
    -- reproduces y exactly
    local X = lua_matrix(4, 6, 71)
    local y = {1, -2, 3, 0.5}
    local m
    local w = mf.capture_warnings(function() m = Mo.LinearRegression():fit(T(X), T(y)) end)
    lu.assertStrContains(w[1], "rank 3 of 6 columns")
    lu.assertEquals(m.rank, 3)
    local P = m:predict(T(X)):totable()
    for i = 1, 4 do lu.assertAlmostEquals(P[i], y[i], 1e-10) end
end

function test_predict_and_score_against_loops()
    local X, y = make_problem(25, 3, 13)
    local m = Mo.LinearRegression():fit(T(X), T(y))
    local c, b = m.coef:totable(), m.intercept
    local P = m:predict(T(X)):totable()
    local ybar, ss_res, ss_tot = 0, 0, 0
    for i = 1, 25 do ybar = ybar + y[i] / 25 end
    for i = 1, 25 do
        local s = b
        for j = 1, 3 do s = s + X[i][j] * c[j] end
        lu.assertAlmostEquals(P[i], s, 1e-12)
        ss_res = ss_res + (y[i] - s) ^ 2
        ss_tot = ss_tot + (y[i] - ybar) ^ 2
    end
    lu.assertAlmostEquals(m:score(T(X), T(y)), 1 - ss_res / ss_tot, 1e-12)
    -- float32 X at predict is converted
    lu.assertAlmostEquals(m:predict(mf.tensor(X, "float32")):totable()[1], P[1], 1e-5)
    lu.assertEquals(tostring(m), "LinearRegression (fitted)")
end

function test_table_input_by_name()
    local X, y = make_problem(20, 2, 17)
    local a, bb = {}, {}
    for i = 1, 20 do a[i] = X[i][1]; bb[i] = X[i][2] end
    local tbl = mf.data.from_columns({a = T(a), b = T(bb)}, {order = {"a", "b"}})
    local m = Mo.LinearRegression():fit(tbl:select{"a", "b"}, T(y))
    lu.assertEquals(m.feature_names_in, {"a", "b"})
    local ref = Mo.LinearRegression():fit(T(X), T(y))
    lu.assertAlmostEquals(m.coef:totable()[1], ref.coef:totable()[1], 1e-12)
    -- columns reordered at predict are selected by name
    local P = m:predict(tbl:select{"b", "a"}):totable()
    lu.assertAlmostEquals(P[5], ref:predict(T(X)):totable()[5], 1e-12)
    assert_error(function() m:predict(mf.data.from_columns({a = T(a)})) end,
                 "bad argument #1 to 'LinearRegression:predict'", "column 'b' (seen in fit) missing")
end

function test_thread_count_does_not_change_results()
    local X, y = make_problem(20000, 6, 23)
    local old = mf.get_num_threads()
    mf.set_num_threads(1)
    local m1 = Mo.LinearRegression():fit(T(X), T(y))
    mf.set_num_threads(2)
    local m2 = Mo.LinearRegression():fit(T(X), T(y))
    mf.set_num_threads(old)
    lu.assertEquals(m1.coef:totable(), m2.coef:totable())
    lu.assertEquals(m1.intercept, m2.intercept)
end

function test_linear_errors()
    local X, y = make_problem(10, 2, 1)
    assert_error(function() Mo.LinearRegression{bogus = 1} end,
                 "bad argument #1 to 'LinearRegression'", "bogus")
    assert_error(function() Mo.LinearRegression{solver = "lu"} end,
                 "bad argument #1 to 'LinearRegression'", "option 'solver'")
    assert_error(function() Mo.LinearRegression{fit_intercept = 1} end, "fit_intercept")
    local m = Mo.LinearRegression()
    assert_error(function() m:predict(T(X)) end, "LinearRegression: predict called before fit")
    assert_error(function() m:fit(T(X), mf.zeros(9, "float64")) end,
                 "bad argument #2 to 'LinearRegression:fit'", "y has 9 rows, X has 10")
    local bad = T(X)
    bad[4][2] = 0 / 0
    assert_error(function() m:fit(bad, T(y)) end,
                 "bad argument #1 to 'LinearRegression:fit'", "NaN at row 4, column 2")
    bad[4][2] = 1 / 0
    assert_error(function() m:fit(bad, T(y)) end, "inf at row 4, column 2")
    for _, solver in ipairs{"qr", "svd"} do
        assert_error(function() Mo.LinearRegression{solver = solver}:fit(bad, T(y)) end,
                     "bad argument #1 to 'LinearRegression:fit'", "inf at row 4, column 2")
    end
    assert_error(function() Mo.Lasso():fit(bad, T(y)) end,
                 "bad argument #1 to 'Lasso:fit'", "inf at row 4, column 2")
    assert_error(function() Mo.Ridge():fit(bad, T(y)) end, "bad argument #1 to 'Ridge:fit'", "row 4")
    assert_error(function() Mo.SGDRegressor():fit(bad, T(y)) end,
                 "bad argument #1 to 'SGDRegressor:fit'", "row 4")
    -- the error points at the caller
    local err = assert_error(function() Mo.Lasso():fit(bad, T(y)) end, "test_models_linear.lua:")
    lu.assertNotStrContains(err, "moonforge/models_linear")
    local yb = T(y)
    yb[7] = 0 / 0
    assert_error(function() m:fit(T(X), yb) end, "bad argument #2", "row 7")
    assert_error(function() m:fit(T(y), T(y)) end, "2-D tensor expected, got 1-D")
    assert_error(function() m:fit("x", T(y)) end, "tensor or Table expected, got string")
    m:fit(T(X), T(y))
    assert_error(function() m:predict(mf.zeros(3, 3, "float64")) end,
                 "bad argument #1 to 'LinearRegression:predict'", "expected 2 columns (as in fit), got 3")
    local nt = mf.zeros(3, 2, "float64")
    nt[1][1] = 0 / 0
    assert_error(function() m:predict(nt) end, "NaN at row 1, column 1")
end

---------------------------------------------------------------- Ridge
function test_ridge_gradient_is_zero()
    local X, y = make_problem(40, 3, 31)
    local alpha = 2.5
    local m = Mo.Ridge{alpha = alpha}:fit(T(X), T(y))
    local w, b = m.coef:totable(), m.intercept
    -- d/dw (||y - Xw - b||^2 + alpha ||w||^2) = -2 X^T r + 2 alpha w; d/db = -2 sum r
    local r = {}
    for i = 1, 40 do
        local s = b
        for j = 1, 3 do s = s + X[i][j] * w[j] end
        r[i] = y[i] - s
    end
    local sr = 0
    for i = 1, 40 do sr = sr + r[i] end
    lu.assertTrue(math.abs(sr) < 1e-10)
    for j = 1, 3 do
        local g = alpha * w[j]
        for i = 1, 40 do g = g - X[i][j] * r[i] end
        lu.assertTrue(math.abs(g) < 1e-10, "gradient " .. j .. ": " .. g)
    end
    -- alpha shrinks the coefficients compared with OLS
    local ols = Mo.LinearRegression():fit(T(X), T(y)).coef:totable()
    local n1, n2 = 0, 0
    for j = 1, 3 do n1 = n1 + w[j] ^ 2; n2 = n2 + ols[j] ^ 2 end
    lu.assertTrue(n1 < n2)
    -- alpha = 0 is OLS
    local z = Mo.Ridge{alpha = 0}:fit(T(X), T(y)).coef:totable()
    for j = 1, 3 do rel_close(z[j], ols[j], 1e-8, "alpha 0") end
    assert_error(function() Mo.Ridge{alpha = -1} end, "bad argument #1 to 'Ridge'", "option 'alpha'")
    assert_error(function() Mo.Ridge():predict(T(X)) end, "Ridge: predict called before fit")
end

---------------------------------------------------------------- Lasso / ElasticNet
local function check_kkt(X, y, m, alpha, l1_ratio, tol)
    local n, p = #X, #X[1]
    local w, b = m.coef:totable(), m.intercept
    local r = {}
    for i = 1, n do
        local s = b
        for j = 1, p do s = s + X[i][j] * w[j] end
        r[i] = y[i] - s
    end
    for j = 1, p do
        local g = 0
        for i = 1, n do g = g + X[i][j] * r[i] end
        g = g / n - alpha * (1 - l1_ratio) * w[j]
        if w[j] == 0 then
            lu.assertTrue(math.abs(g) <= alpha * l1_ratio + tol, ("zero coef %d: %g"):format(j, g))
        else
            local want = alpha * l1_ratio * (w[j] > 0 and 1 or -1)
            lu.assertTrue(math.abs(g - want) <= tol, ("coef %d: %g vs %g"):format(j, g, want))
        end
    end
end

function test_lasso_kkt_and_sparsity()
    local X, y = make_problem(80, 6, 41)
    for i = 1, 80 do y[i] = y[i] - X[i][5] * -5 - X[i][6] * 6 end -- features 5, 6 drop out
    for i = 1, 80 do y[i] = y[i] + 0.02 * X[i][6] end
    local m = Mo.Lasso{alpha = 0.05, tol = 1e-10, max_iter = 10000}:fit(T(X), T(y))
    check_kkt(X, y, m, 0.05, 1, 1e-6)
    lu.assertEquals(m.coef:totable()[6], 0)
    lu.assertTrue(m.n_iter >= 1 and m.n_iter < 10000)
    local e = Mo.ElasticNet{alpha = 0.1, l1_ratio = 0.3, tol = 1e-10, max_iter = 10000}:fit(T(X), T(y))
    check_kkt(X, y, e, 0.1, 0.3, 1e-6)
end

function test_lasso_single_feature_soft_threshold()
    -- one centered feature: w = S(x^T y / n, alpha) / (x^T x / n)
    local x = {-2, -1, 0, 1, 2}
    local y = {-3, -1.5, 0.5, 2, 4}
    local X = {}
    for i = 1, 5 do X[i] = {x[i]} end
    local ybar, xy, xx = 0, 0, 0
    for i = 1, 5 do ybar = ybar + y[i] / 5 end
    for i = 1, 5 do xy = xy + x[i] * (y[i] - ybar) / 5; xx = xx + x[i] ^ 2 / 5 end
    local m = Mo.Lasso{alpha = 0.5}:fit(T(X), T(y))
    lu.assertAlmostEquals(m.coef:totable()[1], (xy - 0.5) / xx, 1e-12)
    lu.assertAlmostEquals(m.intercept, ybar, 1e-12)
    local big = Mo.Lasso{alpha = 100}:fit(T(X), T(y))
    lu.assertEquals(big.coef:totable()[1], 0)
    lu.assertAlmostEquals(big.intercept, ybar, 1e-12)
    -- elastic net: S(x^T y / n, a l1) / (x^T x / n + a (1 - l1))
    local e = Mo.ElasticNet{alpha = 0.5, l1_ratio = 0.4}:fit(T(X), T(y))
    lu.assertAlmostEquals(e.coef:totable()[1], (xy - 0.2) / (xx + 0.3), 1e-12)
end

function test_enet_not_converged_warns_and_errors()
    local X, y = make_problem(50, 5, 43)
    local w = mf.capture_warnings(function()
        Mo.Lasso{alpha = 1e-4, max_iter = 1, tol = 1e-12}:fit(T(X), T(y))
    end)
    lu.assertEquals(#w, 1)
    lu.assertStrContains(w[1], "Lasso:fit: coordinate descent did not converge in 1 iterations")
    assert_error(function() Mo.ElasticNet{l1_ratio = 2} end, "bad argument #1 to 'ElasticNet'", "l1_ratio")
    assert_error(function() Mo.Lasso{max_iter = 0} end, "max_iter")
    assert_error(function() Mo.Lasso{alpha = 1}:fit(T(X), T(X)) end, "bad argument #2 to 'Lasso:fit'",
                 "1-D tensor expected, got 2-D")
end

---------------------------------------------------------------- SGDRegressor
function test_sgd_converges_to_ols_and_is_deterministic()
    local X, y = make_problem(400, 3, 51)
    -- standardize the columns
    for j = 1, 3 do
        local mu, sd = 0, 0
        for i = 1, 400 do mu = mu + X[i][j] / 400 end
        for i = 1, 400 do sd = sd + (X[i][j] - mu) ^ 2 / 400 end
        sd = math.sqrt(sd)
        for i = 1, 400 do X[i][j] = (X[i][j] - mu) / sd end
    end
    local c, b = lua_lstsq(X, y, true)
    local m = Mo.SGDRegressor{seed = 5, penalty = "none", tol = 1e-8, max_iter = 200}
    mf.capture_warnings(function() m:fit(T(X), T(y)) end)
    for j = 1, 3 do lu.assertTrue(math.abs(m.coef:totable()[j] - c[j]) < 2e-2 * (1 + math.abs(c[j]))) end
    lu.assertTrue(math.abs(m.intercept - b) < 2e-2)
    lu.assertTrue(m:score(T(X), T(y)) > 0.999 * Mo.LinearRegression():fit(T(X), T(y)):score(T(X), T(y)))
    local m2 = Mo.SGDRegressor{seed = 5, penalty = "none", tol = 1e-8, max_iter = 200}
    mf.capture_warnings(function() m2:fit(T(X), T(y)) end)
    lu.assertEquals(m2.coef:totable(), m.coef:totable())
    lu.assertEquals(m2.n_iter, m.n_iter)
    local m3 = Mo.SGDRegressor{seed = 6, penalty = "none", tol = 1e-8, max_iter = 200}
    mf.capture_warnings(function() m3:fit(T(X), T(y)) end)
    lu.assertNotEquals(m3.coef:totable()[1], m.coef:totable()[1])
    for _, opt in ipairs{{loss = "huber"}, {penalty = "l1"}, {penalty = "elasticnet"},
                         {learning_rate = "optimal"}, {learning_rate = "adaptive"},
                         {learning_rate = "constant"}} do
        opt.seed = 1
        local s = Mo.SGDRegressor(opt)
        mf.capture_warnings(function() s:fit(T(X), T(y)) end)
        lu.assertTrue(s:score(T(X), T(y)) > 0.95, next(opt))
        lu.assertEquals(s.t, s.n_iter * 400 + 1)
    end
end

function test_sgd_errors()
    assert_error(function() Mo.SGDRegressor{loss = "hinge"} end, "bad argument #1 to 'SGDRegressor'", "loss")
    assert_error(function() Mo.SGDRegressor{eta0 = 0} end, "eta0")
    assert_error(function() Mo.SGDRegressor{learning_rate = "optimal", alpha = 0} end, "alpha")
    assert_error(function() Mo.SGDRegressor{seed = 1.5} end, "seed")
    local X = mf.tensor({{1e200}, {-1e200}, {3e200}}, "float64")
    assert_error(function() Mo.SGDRegressor{learning_rate = "constant", eta0 = 1}:fit(X, {1, 2, 3}) end,
                 "SGDRegressor:fit", "diverged")
end

function test_params_roundtrip()
    local m = Mo.Lasso{alpha = 0.3}
    lu.assertEquals(m:get_params().alpha, 0.3)
    m:set_params{alpha = 0.7}
    lu.assertEquals(m.alpha, 0.7)
end

os.exit(lu.LuaUnit.run())
