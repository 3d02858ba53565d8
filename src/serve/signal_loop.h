// Serving until a signal: what `enclave serve` and `enclave ui` share. The
// signal handler only writes the signal's number to a pipe (write() is
// async-signal-safe, and the handler runs on whichever thread the kernel
// picks: libtorch and OpenMP start threads before a server could block
// signals in them, so sigwait alone let a SIGTERM kill the process with
// answered requests still queued for the log); a waiting thread reads it.
// Thread safety: one loop per process at a time.
#pragma once

#include <functional>

namespace enclave::serve {

// Installs handlers for SIGINT, SIGTERM and SIGHUP, runs serve() (which
// blocks until stop() is called) and calls stop() on SIGINT or SIGTERM;
// SIGHUP calls on_hup when set and is otherwise ignored. Returns when
// serve() returns (after a signal or by itself). Throws Error(kIo) if the
// pipe cannot be made.
void serve_until_signal(const std::function<void()>& serve, const std::function<void()>& stop,
                        const std::function<void()>& on_hup = {});

}  // namespace enclave::serve
