// The time pipelines see: store::now_unix(), unless $ENCLAVE_PIPELINE_NOW
// names a start time (seconds since the epoch, or local "YYYY-MM-DDTHH:MM"
// read in $TZ), from which this clock then advances with the real one.
// Tests set it to check schedules and cache expiry without waiting; `watch`
// and the step cache read only this clock.
// Thread safety: safe from any thread (the start offset is computed once).
#pragma once

namespace enclave::pipeline {

// Seconds since the epoch. Throws Error(kInvalidInput) once, naming the
// variable, if $ENCLAVE_PIPELINE_NOW is set but unreadable.
double pipeline_now();

}  // namespace enclave::pipeline
