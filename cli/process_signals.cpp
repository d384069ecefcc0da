// The programs' signal policy: SIGINT/SIGTERM remove the temporary files of writes in progress, then kill.
#include <signal.h>

#include "base/file_io.h"
#include "cli/process.h"

namespace odp::cli {
namespace {

// Async-signal-safe: unlink(2) over fixed storage, then the default action (SA_RESETHAND restored it).
void on_termination_signal(int signal_number) {
  base::remove_temporary_files_now();
  ::raise(signal_number);
}

}  // namespace

void remove_temporary_files_on_signals() {
  for (const int signal_number : {SIGINT, SIGTERM}) {
    struct sigaction current {};
    // A signal the parent set to be ignored (nohup, background jobs) stays ignored.
    if (::sigaction(signal_number, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) continue;
    struct sigaction action {};
    action.sa_handler = on_termination_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    ::sigaction(signal_number, &action, nullptr);
  }
}

}  // namespace odp::cli
