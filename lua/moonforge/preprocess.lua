-- moonforge.preprocess (mf.preprocess): scikit-learn style transformers.
local M = {}
return M
