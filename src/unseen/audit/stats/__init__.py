"""Statistics every audit shares; nothing here knows about faces.

- `counts`: the counts core (sorted scores, counts at or above a threshold, the threshold
  for a target rate), weighted for bootstrap replicates;
- `rates`: the one per-group rate table (`RateTable`: events out of trials per `Group`);
- `uncertainty`: intervals, rule-of-three bounds, cluster bootstrap, Holm, sample sizes;
- `fairness`: summary measures of unequal rates (max/min, max/geomean, Gini, FDR, IR, GARBE, SER).
"""
