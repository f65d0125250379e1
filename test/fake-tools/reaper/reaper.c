/*
 * PID 1 for test/e2e/pid1.test.ts, doing for the exporter what the pause
 * container does in a pod with shareProcessNamespace: wait for every child
 * that exits, adopted orphans included. Unlike pause it also starts the
 * command (in a pod the runtime starts it) and passes SIGTERM/SIGINT on.
 *
 *   reaper <command> [args...]     exits with the command's status
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t child;

static void forward(int sig) {
  if (child > 0) kill(child, sig);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: reaper <command> [args...]\n");
    return 2;
  }
  signal(SIGTERM, forward);
  signal(SIGINT, forward);
  child = fork();
  if (child < 0) {
    perror("reaper: fork");
    return 1;
  }
  if (child == 0) {
    execvp(argv[1], argv + 1);
    perror("reaper: exec");
    _exit(127);
  }
  int code = 0;
  for (;;) {
    int status;
    pid_t p = wait(&status);
    if (p < 0) {
      if (errno == EINTR) continue;
      break; /* ECHILD: nothing left to reap */
    }
    if (p == child) code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return code;
}
