"""One small setting and one FE estimator shared by the Monte Carlo tests, so that they share
their compiled batch functions (a compilation costs seconds, a replication milliseconds)."""

from tradeq.dgp.firm_panel import FirmPanelParams
from tradeq.montecarlo.estimators import FixedEffects
from tradeq.montecarlo.studies import Setting

FE = FixedEffects(vcovs=("iid", "hc1", "cluster", "twoway"))
SETTING = Setting(params=FirmPanelParams(error="heteroskedastic"), n_firms=150, n_years=8)
SEED, REPS = 7, 12
