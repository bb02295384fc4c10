#!/usr/bin/env Rscript
## Times the R package 'surveillance' on the series a bench script hands over (bench/r_timing.py).
## Usage: Rscript bench/r_surveillance.R jobs.json
## jobs.json: {"freq": 52, "jobs": [{"id": ..., "fun": "farringtonFlexible", "control": {...},
##             "start": s, "end": e, "series": [[counts...], ...]}]}
## Prints CSV on stdout: id, series, series_weeks, cpu_s, wall_s, failed. One call per series, as the
## oracle (../shared/oracle/make_oracle.R) calls them; warnings and messages muffled; a series on
## which R stops (glm.nb on some glrnb series) is counted in 'failed' and not in the time.
suppressMessages({
  library(surveillance)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
spec <- fromJSON(args[1], simplifyVector = TRUE, simplifyDataFrame = FALSE, simplifyMatrix = FALSE)

call_one <- function(fun, x, ctl) {
  if (fun == "earsC") earsC(x, control = ctl)
  else if (fun == "farringtonFlexible") farringtonFlexible(x, control = ctl)
  else do.call(fun, list(sts2disProg(x), control = ctl))
}

cat("id,series,series_weeks,cpu_s,wall_s,failed\n")
for (job in spec$jobs) {
  ctl <- job$control  # a JSON null stays a NULL element, as the oracle's control lists have (m = NULL)
  ctl$range <- job$start:job$end
  series <- job$series
  cpu <- 0; wall <- 0; ok <- 0L; failed <- 0L
  for (y in series) {
    x <- sts(observed = matrix(as.numeric(y), ncol = 1), frequency = spec$freq, start = c(2000, 1))
    t0 <- proc.time()
    r <- tryCatch(suppressWarnings(suppressMessages(call_one(job$fun, x, ctl))), error = function(e) NULL)
    dt <- proc.time() - t0
    if (is.null(r)) { failed <- failed + 1L; next }
    cpu <- cpu + dt[["user.self"]] + dt[["sys.self"]]; wall <- wall + dt[["elapsed"]]; ok <- ok + 1L
  }
  cat(sprintf("%s,%d,%d,%.4f,%.4f,%d\n", job$id, ok, ok * length(ctl$range), cpu, wall, failed))
}
