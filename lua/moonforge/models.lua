--- moonforge.models (mf.models): scikit-learn shaped estimators. The
-- families live in models_*.lua, each a function that adds its classes to M.
local M = {}
require("moonforge.models_linear")(M)   -- LinearRegression, Ridge, Lasso, ElasticNet, SGDRegressor
require("moonforge.models_classify")(M) -- LogisticRegression, LinearSVC, SGDClassifier
require("moonforge.models_neighbors")(M) -- KNeighborsClassifier, KNeighborsRegressor, GaussianNB
require("moonforge.models_svm")(M)     -- SVC
require("moonforge.models_keras")(M)    -- KerasClassifier, KerasRegressor
return M
