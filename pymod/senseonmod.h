/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * senseonmod - the native `senseon` Python module of script workers.
 *
 * Every privileged call is one JSON-RPC exchange over the worker's RPC
 * socket (protocol.h frames) with the daemon's script manager, which
 * performs and audits it.  The module holds no privilege of its own.
 */
#ifndef SENSEON_PYMOD_SENSEONMOD_H
#define SENSEON_PYMOD_SENSEONMOD_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* The fd every call goes through (fd 3 in a script worker). */
#define SENSEON_RPC_FD	3

/* PyInit_senseon - for PyImport_AppendInittab("senseon", ...). */
PyMODINIT_FUNC PyInit_senseon(void);

/*
 * senseon_rpc - call @method with @params (a dict, or NULL) on the daemon.
 * Returns the call's "result" as a new reference, or NULL with a
 * senseon.Error (or subclass) set.
 */
PyObject *senseon_rpc(const char *method, PyObject *params);

/*
 * senseon_notify - send @method with @params without waiting for a reply
 * (the worker's final "exit" report).  0 or -errno.
 */
int senseon_notify(const char *method, PyObject *params);

/*
 * senseon_reply - read the next reply on the RPC socket without a call:
 * the worker's job, which the daemon sends unasked when it starts the
 * script.  Returns the result, or NULL with a Python exception set;
 * @method names the reply in messages.
 */
PyObject *senseon_reply(const char *method);

#endif
