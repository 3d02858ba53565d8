#include "serve/signal_loop.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "core/error.h"

namespace enclave::serve {
namespace {

int signal_pipe[2] = {-1, -1};

extern "C" void on_signal(int sig) {
  const int saved = errno;
  const char c = static_cast<char>(sig);
  [[maybe_unused]] const ssize_t n = ::write(signal_pipe[1], &c, 1);
  errno = saved;
}

}  // namespace

void serve_until_signal(const std::function<void()>& serve, const std::function<void()>& stop,
                        const std::function<void()>& on_hup) {
  if (signal_pipe[0] < 0 && ::pipe2(signal_pipe, O_CLOEXEC) != 0)
    fail(ErrorKind::kIo, "cannot create a pipe");
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &action, nullptr);
  std::thread waiter([&] {
    char sig = 0;
    // SIGINT and SIGTERM (or 0, serve() having returned by itself) stop.
    while (::read(signal_pipe[0], &sig, 1) == 1 && sig == SIGHUP) {
      if (on_hup) on_hup();
    }
    stop();
  });
  serve();
  const char wake = 0;
  [[maybe_unused]] const ssize_t n = ::write(signal_pipe[1], &wake, 1);
  waiter.join();
}

}  // namespace enclave::serve
