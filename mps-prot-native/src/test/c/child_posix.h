/* child_posix.h -- the POSIX C tests' way of running a body that may crash, hang or abort:
 * in a forked child, with no core file and an alarm as the bound, so that a loop or a hang
 * is a failure of the test and never a stuck test; and the test oracle for "nothing stays
 * mapped", the number of lines /proc/self/maps has.  Included by test files after check.h;
 * everything is static, so each test program has its own copy. */
#ifndef MPSPROT_CHILD_POSIX_H
#define MPSPROT_CHILD_POSIX_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How a child ended: its wait status, how long it ran, what it wrote to stderr. */
struct child_outcome {
  int status;
  double seconds;
  char err[4096];
};

/* Runs body in a forked child (no core file, alarm(limit_s), exit 0 if body returns); if o
 * is not NULL the child's stderr is captured into o->err.  Returns the wait status. */
static inline int child_run(void (*body)(void), int limit_s, struct child_outcome *o) {
  int fds[2] = {-1, -1};
  if (o != NULL && pipe(fds) != 0) {
    perror("pipe");
    exit(2);
  }
  fflush(stdout);
  fflush(stderr);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    if (o != NULL) {
      close(fds[0]);
      dup2(fds[1], 2);
    }
    alarm((unsigned)limit_s);
    body();
    _exit(0);
  }
  int status;
  if (o != NULL) {
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n < sizeof o->err - 1 && (r = read(fds[0], o->err + n, sizeof o->err - 1 - n)) > 0)
      n += (size_t)r;
    o->err[n] = '\0';
    close(fds[0]);
  }
  waitpid(pid, &status, 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (o != NULL) {
    o->status = status;
    o->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  }
  return status;
}

/* The number of lines /proc/self/maps has now (0 where it cannot be read). */
static inline int maps_lines(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  int n = 0;
  while (f && fgets(line, sizeof line, f))
    n++;
  if (f)
    fclose(f);
  return n;
}

#endif /* MPSPROT_CHILD_POSIX_H */
