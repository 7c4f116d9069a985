/*
 * Conveyor's process starter: a Node-API addon that starts a step's process with posix_spawn.
 *
 * Why: Node's child_process.spawn forks the whole Node process (its page tables copied, then torn
 * down again by the child's exec) and blocks its one thread until the child has exec'd: 5 to 10 ms a
 * start on a small VM, most of what a short step costs. glibc's posix_spawn starts the child with
 * vfork semantics (CLONE_VM | CLONE_VFORK): nothing is copied and the caller waits well under a
 * millisecond. The child is watched through a pidfd polled on Node's own event loop, so no thread
 * and no SIGCHLD handler is involved (Node's libuv reaps only the children it started itself).
 *
 * Exports:
 *   available: boolean                 pidfds work on this kernel (Linux 5.3 or later)
 *   spawn(file, argv, envp, cwd, newSession, onExit) -> [pid, stdoutFd, stderrFd]
 *     file: the program's path (the caller searches PATH); argv and envp: arrays of strings;
 *     cwd: "" to keep this process's; newSession: setsid() in the child (its own process group);
 *     stdin is /dev/null, stdout and stderr are pipes whose reading ends are returned;
 *     onExit(code, signal) is called once, from the event loop, when the child has ended
 *     (exactly one of code and signal is a number). A failure to start throws an Error whose
 *     `errno` is the C errno (ENOENT for a missing program or cwd, as with execve).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static int pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

/* A started child whose end is awaited. `poll` comes first: libuv hands it back to the callbacks. */
typedef struct {
  uv_poll_t poll;
  int pidfd;
  pid_t pid;
  napi_env env;
  napi_ref on_exit;
  napi_async_context context;
} watched_child;

static napi_value throw_errno(napi_env env, const char *what, int code) {
  char message[512];
  snprintf(message, sizeof message, "%s: %s", what, strerror(code));
  napi_value text, number, error;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, NULL, text, &error);
  napi_create_int32(env, code, &number);
  napi_set_named_property(env, error, "errno", number);
  napi_throw(env, error);
  return NULL;
}

/* A JS string as a malloc'd C string; NULL (with a pending exception) if it is not a string. */
static char *string_of(napi_env env, napi_value value) {
  size_t length;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a string");
    return NULL;
  }
  char *text = malloc(length + 1);
  if (text == NULL) return NULL;
  napi_get_value_string_utf8(env, value, text, length + 1, &length);
  return text;
}

static void free_strings(char **strings) {
  if (strings == NULL) return;
  for (char **s = strings; *s != NULL; s++) free(*s);
  free(strings);
}

/* A JS array of strings as a NULL-terminated array of C strings; NULL on failure. */
static char **strings_of(napi_env env, napi_value array) {
  uint32_t count;
  if (napi_get_array_length(env, array, &count) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected an array of strings");
    return NULL;
  }
  char **strings = calloc((size_t)count + 1, sizeof(char *));
  if (strings == NULL) return NULL;
  for (uint32_t i = 0; i < count; i++) {
    napi_value element;
    napi_get_element(env, array, i, &element);
    strings[i] = string_of(env, element);
    if (strings[i] == NULL) {
      free_strings(strings);
      return NULL;
    }
  }
  return strings;
}

static void close_if_open(int fd) {
  if (fd >= 0) close(fd);
}

static void free_watch(uv_handle_t *handle) { free(handle); }

static void on_child_event(uv_poll_t *poll, int status, int events) {
  (void)status;
  (void)events;
  watched_child *child = (watched_child *)poll;
  int wait_status = 0;
  pid_t reaped;
  do reaped = waitpid(child->pid, &wait_status, WNOHANG);
  while (reaped < 0 && errno == EINTR);
  if (reaped == 0) return; /* not ended yet */

  uv_poll_stop(poll);
  close(child->pidfd);
  napi_env env = child->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value callback, receiver, args[2];
  napi_get_reference_value(env, child->on_exit, &callback);
  napi_get_global(env, &receiver); /* make_callback wants an object */
  napi_get_null(env, &args[0]);
  napi_get_null(env, &args[1]);
  if (reaped < 0) {
    napi_create_int32(env, 127, &args[0]); /* reaped by someone else: its status is lost */
  } else if (WIFEXITED(wait_status)) {
    napi_create_int32(env, WEXITSTATUS(wait_status), &args[0]);
  } else {
    napi_create_int32(env, WTERMSIG(wait_status), &args[1]);
  }
  /* make_callback runs the process's microtasks and async hooks as a Node callback would. */
  napi_make_callback(env, child->context, receiver, callback, 2, args, NULL);
  napi_async_destroy(env, child->context);
  napi_delete_reference(env, child->on_exit);
  napi_close_handle_scope(env, scope);
  uv_close((uv_handle_t *)poll, free_watch);
}

static napi_value spawn_child(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value args[6];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc != 6) {
    napi_throw_type_error(env, NULL, "spawn(file, argv, envp, cwd, newSession, onExit)");
    return NULL;
  }
  bool new_session = false;
  napi_get_value_bool(env, args[4], &new_session);

  char *file = string_of(env, args[0]);
  char **argv = file ? strings_of(env, args[1]) : NULL;
  char **envp = argv ? strings_of(env, args[2]) : NULL;
  char *cwd = envp ? string_of(env, args[3]) : NULL;
  watched_child *child = cwd ? calloc(1, sizeof *child) : NULL;
  int out[2] = {-1, -1}, err[2] = {-1, -1}, devnull = -1, failure = 0;
  const char *failed_at = "spawn";
  pid_t pid = -1;
  if (child == NULL) goto done; /* an exception is pending, or memory ran out */

  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    failure = errno;
    failed_at = "pipe";
    goto done;
  }
  devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) {
    failure = errno;
    failed_at = "/dev/null";
    goto done;
  }

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attributes);
  posix_spawn_file_actions_adddup2(&actions, devnull, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  if (cwd[0] != '\0') posix_spawn_file_actions_addchdir_np(&actions, cwd);
  /* Node ignores SIGPIPE and may block signals: the child starts with every default, as Node's
     own spawn gives it. */
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (new_session) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&attributes, flags);
  failure = posix_spawn(&pid, file, &actions, &attributes, argv, envp);
  failed_at = file;
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (failure != 0) goto done;

  child->pid = pid;
  child->env = env;
  child->pidfd = pidfd_open(pid);
  if (child->pidfd < 0) {
    /* Without a pidfd its end could not be seen: take it back down rather than lose it. */
    failure = errno;
    failed_at = "pidfd_open";
    kill(new_session ? -pid : pid, SIGKILL);
    waitpid(pid, NULL, 0);
    goto done;
  }
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  napi_value resource_name;
  napi_create_string_utf8(env, "ConveyorChild", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, NULL, resource_name, &child->context);
  napi_create_reference(env, args[5], 1, &child->on_exit);
  uv_poll_init(loop, &child->poll, child->pidfd);
  uv_poll_start(&child->poll, UV_READABLE, on_child_event);

done:
  close_if_open(devnull);
  close_if_open(out[1]);
  close_if_open(err[1]);
  free(file);
  free(cwd);
  free_strings(argv);
  free_strings(envp);
  bool started = child != NULL && failure == 0;
  if (!started) {
    close_if_open(out[0]);
    close_if_open(err[0]);
    free(child);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) return NULL;
    return throw_errno(env, failed_at, failure != 0 ? failure : ENOMEM);
  }
  napi_value result, value;
  napi_create_array_with_length(env, 3, &result);
  int values[3] = {pid, out[0], err[0]};
  for (uint32_t i = 0; i < 3; i++) {
    napi_create_int32(env, values[i], &value);
    napi_set_element(env, result, i, value);
  }
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  int probe = pidfd_open(getpid());
  bool available = probe >= 0;
  close_if_open(probe);
  napi_value spawn_function, available_value;
  napi_create_function(env, "spawn", NAPI_AUTO_LENGTH, spawn_child, NULL, &spawn_function);
  napi_set_named_property(env, exports, "spawn", spawn_function);
  napi_get_boolean(env, available, &available_value);
  napi_set_named_property(env, exports, "available", available_value);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
