/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * senseonmod - the `senseon` module scripts import.
 *
 * Overview: each function packs its arguments into a dict, sends
 * {"method": M, "params": {...}} as one protocol.h JSON frame on the RPC
 * socket (fd SENSEON_RPC_FD) and waits for {"ok": true, "result": R} or
 * {"ok": false, "kind": K, "error": E}, which becomes the exception class
 * named K.  JSON goes through Python's own json module so results are
 * plain Python objects.  The module owns the exception classes and two
 * cached json functions; it owns no fd (the worker set fd 3 up) and no
 * privilege: the daemon decides, performs and audits every call.
 */
#include "senseonmod.h"
#include "protocol.h"

#include <errno.h>
#include <string.h>

static PyObject *py_json_dumps, *py_json_loads;
static PyObject *err_base, *err_perm, *err_notavail, *err_notfound, *err_integrity;

static int load_json(void)
{
	PyObject *mod;

	if (py_json_dumps)
		return 0;
	mod = PyImport_ImportModule("json");
	if (!mod)
		return -1;
	py_json_dumps = PyObject_GetAttrString(mod, "dumps");
	py_json_loads = PyObject_GetAttrString(mod, "loads");
	Py_DECREF(mod);
	return py_json_dumps && py_json_loads ? 0 : -1;
}

static int send_call(const char *method, PyObject *params)
{
	PyObject *msg, *text;
	const char *buf;
	Py_ssize_t len;
	int err;

	if (load_json())
		return -1;
	msg = Py_BuildValue("{s:s, s:O}", "method", method,
			    "params", params ? params : Py_None);
	if (!msg)
		return -1;
	text = PyObject_CallOneArg(py_json_dumps, msg);
	Py_DECREF(msg);
	if (!text)
		return -1;
	buf = PyUnicode_AsUTF8AndSize(text, &len);
	if (!buf) {
		Py_DECREF(text);
		return -1;
	}
	Py_BEGIN_ALLOW_THREADS
	err = proto_write_frame(SENSEON_RPC_FD, PROTO_JSON, buf, (size_t)len);
	Py_END_ALLOW_THREADS
	Py_DECREF(text);
	if (err) {
		PyErr_Format(err_base, "senseon.%s: the sensor is not reachable (%s)",
			     method, strerror(-err));
		return -1;
	}
	return 0;
}

int senseon_notify(const char *method, PyObject *params)
{
	return send_call(method, params) ? -EIO : 0;
}

static PyObject *error_class(const char *kind)
{
	if (!kind)
		return err_base;
	if (!strcmp(kind, "PermissionDenied"))
		return err_perm;
	if (!strcmp(kind, "NotAvailable"))
		return err_notavail;
	if (!strcmp(kind, "NotFound"))
		return err_notfound;
	if (!strcmp(kind, "IntegrityError"))
		return err_integrity;
	return err_base;
}

/* Turn a reply frame into the result or a raised exception. */
static PyObject *reply_result(const char *method, const struct proto_frame *f)
{
	PyObject *reply, *ok, *res;
	json_t *kind, *msg;

	if (f->kind != PROTO_JSON || !f->json) {
		PyErr_Format(err_base, "senseon.%s: malformed reply from the sensor", method);
		return NULL;
	}
	if (json_is_true(json_object_get(f->json, "ok")) == 0) {
		kind = json_object_get(f->json, "kind");
		msg = json_object_get(f->json, "error");
		PyErr_SetString(error_class(json_string_value(kind)),
				json_string_value(msg) ? json_string_value(msg) : "failed");
		return NULL;
	}
	reply = PyObject_CallFunction(py_json_loads, "s#", (const char *)f->payload,
				      (Py_ssize_t)f->len);
	if (!reply)
		return NULL;
	ok = PyDict_GetItemString(reply, "result");	/* borrowed */
	res = ok ? ok : Py_None;
	Py_INCREF(res);
	Py_DECREF(reply);
	return res;
}

PyObject *senseon_rpc(const char *method, PyObject *params)
{
	if (send_call(method, params))
		return NULL;
	return senseon_reply(method);
}

PyObject *senseon_reply(const char *method)
{
	struct proto_frame f = { 0 };
	PyObject *res;
	int err;

	Py_BEGIN_ALLOW_THREADS
	err = proto_read_frame(SENSEON_RPC_FD, &f);
	Py_END_ALLOW_THREADS
	if (err) {
		PyErr_Format(err_base, "senseon.%s: no reply from the sensor (%s)",
			     method, strerror(-err));
		return NULL;
	}
	res = reply_result(method, &f);
	proto_frame_free(&f);
	return res;
}

/* Steals @params (NULL means an error was already set by the builder). */
static PyObject *call(const char *method, PyObject *params)
{
	PyObject *res;

	if (!params)
		return NULL;
	res = senseon_rpc(method, params);
	Py_DECREF(params);
	return res;
}

static PyObject *fs_str(PyObject *path)
{
	PyObject *bytes, *str;

	if (!PyUnicode_FSConverter(path, &bytes))
		return NULL;
	str = PyUnicode_DecodeFSDefault(PyBytes_AS_STRING(bytes));
	Py_DECREF(bytes);
	return str;
}

PyDoc_STRVAR(upload_doc,
"upload(path) -> dict\n\n"
"Send the file at path from this host to whoever runs the script (the\n"
"platform, or senseonctl, which saves it locally).  The file is read by\n"
"the sensor in chunks; for a file that grows while it is sent, exactly the\n"
"size it had when it was opened is sent (or less, if it shrinks).  Sparse\n"
"files are sent with their holes as zeros.\n"
"Returns {'path': real path, 'name', 'size', 'sha256'}; the receiver checks\n"
"the same sha256.  Raises NotFound, PermissionDenied or Error.");

static PyObject *py_upload(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "path", NULL };
	PyObject *path, *str;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O:upload", kwlist, &path))
		return NULL;
	str = fs_str(path);
	if (!str)
		return NULL;
	return call("upload", Py_BuildValue("{s:N}", "path", str));
}

PyDoc_STRVAR(download_doc,
"download(name, dest, mode=0o600, overwrite=False) -> dict\n\n"
"Write the file the requester supplied as name (senseonctl run --put\n"
"NAME=FILE) to dest on this host, atomically: a temporary file in dest's\n"
"directory, fsync, rename.  A symbolic link as dest's last component is\n"
"refused, and so is an existing dest unless overwrite is true.  Size and\n"
"sha256 are checked against what the requester announced.\n"
"Returns {'path', 'size', 'sha256'}.  Raises NotFound (no such name),\n"
"PermissionDenied, IntegrityError or Error.");

static PyObject *py_download(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "name", "dest", "mode", "overwrite", NULL };
	PyObject *dest, *str;
	const char *name;
	int mode = 0600, overwrite = 0;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "sO|ip:download", kwlist,
					 &name, &dest, &mode, &overwrite))
		return NULL;
	str = fs_str(dest);
	if (!str)
		return NULL;
	return call("download", Py_BuildValue("{s:s, s:N, s:i, s:O}", "name", name,
					      "dest", str, "mode", mode,
					      "overwrite", overwrite ? Py_True : Py_False));
}

PyDoc_STRVAR(kill_doc,
"kill(pid, signal=signal.SIGKILL, tree=False) -> str\n\n"
"Signal the process pid through its pidfd (never a reused pid), or with\n"
"tree=True kill it and all its descendants (SIGKILL only).  PID 1, the\n"
"sensor and protected programs are refused with PermissionDenied; an\n"
"unknown or exited process raises NotFound.  Returns what was done.");

static PyObject *py_kill(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "pid", "signal", "tree", NULL };
	int pid, sig = 9, tree = 0;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "i|ip:kill", kwlist, &pid, &sig, &tree))
		return NULL;
	return call("kill", Py_BuildValue("{s:i, s:i, s:O}", "pid", pid, "signal", sig,
					  "tree", tree ? Py_True : Py_False));
}

PyDoc_STRVAR(processes_doc,
"processes() -> list[dict]\n\n"
"Every process in the sensor's process table: pid, ppid, uid, user, exe,\n"
"cmdline, cwd, startTime, containerId ... (the alerts' process shape).");

static PyObject *py_processes(PyObject *self, PyObject *unused)
{
	return call("processes", PyDict_New());
}

PyDoc_STRVAR(process_doc,
"process(pid) -> dict\n\n"
"One process from the sensor's process table.  Raises NotFound.");

static PyObject *py_process(PyObject *self, PyObject *args)
{
	int pid;

	if (!PyArg_ParseTuple(args, "i:process", &pid))
		return NULL;
	return call("process", Py_BuildValue("{s:i}", "pid", pid));
}

PyDoc_STRVAR(alert_doc,
"alert(name, message, priority='Medium', **fields) -> str\n\n"
"Raise an alert through the sensor's alert pipeline (alerts.jsonl, syslog,\n"
"subscribers, platform) with the extra JSON-serialisable fields under\n"
"'fields'.  Returns the alert's uuid.");

static PyObject *py_alert(PyObject *self, PyObject *args, PyObject *kw)
{
	const char *name, *message, *priority = "Medium";
	PyObject *fields = kw ? PyDict_Copy(kw) : PyDict_New();
	PyObject *p;

	if (!fields)
		return NULL;
	if (!PyArg_ParseTuple(args, "ss|s:alert", &name, &message, &priority)) {
		Py_DECREF(fields);
		return NULL;
	}
	p = PyDict_GetItemString(fields, "priority");
	if (p && PyUnicode_Check(p))
		priority = PyUnicode_AsUTF8(p);
	p = Py_BuildValue("{s:s, s:s, s:s, s:O}", "name", name, "message", message,
			  "priority", priority, "fields", fields);
	Py_DECREF(fields);
	return call("alert", p);
}

PyDoc_STRVAR(log_doc,
"log(message, level='info') -> None\n\n"
"Write message to the sensor's log (journald/syslog), tagged with the\n"
"script run.  level is error, warning, notice, info or debug.");

static PyObject *py_log(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "message", "level", NULL };
	const char *msg, *level = "info";

	if (!PyArg_ParseTupleAndKeywords(args, kw, "s|s:log", kwlist, &msg, &level))
		return NULL;
	return call("log", Py_BuildValue("{s:s, s:s}", "message", msg, "level", level));
}

PyDoc_STRVAR(hostname_doc,
"hostname() -> str\n\nThe node name the sensor reports this host as.");

static PyObject *py_hostname(PyObject *self, PyObject *unused)
{
	return call("hostname", PyDict_New());
}

PyDoc_STRVAR(sensor_info_doc,
"sensor_info() -> dict\n\n"
"The sensor's version, sensorId, nodeName, pid and uptime, and how this\n"
"script is limited ('limits').");

static PyObject *py_sensor_info(PyObject *self, PyObject *unused)
{
	return call("sensor_info", PyDict_New());
}

PyDoc_STRVAR(alert_context_doc,
"alert_context() -> dict | None\n\n"
"The alert that started this script (a policy's 'script:' response), or\n"
"None when an analyst ran it.");

static PyObject *py_alert_context(PyObject *self, PyObject *unused)
{
	return call("alert_context", PyDict_New());
}

PyDoc_STRVAR(isolate_doc,
"isolate(allow=None, duration=None, force=False) -> dict\n\n"
"Cut this host off the network (an nftables table of the sensor's own)\n"
"except loopback, established flows, the platform and the allow-list:\n"
"addresses or prefixes, optionally with ':port' (\"10.0.0.0/8\",\n"
"\"[2001:db8::1]:443\").  duration: seconds (int) or \"90s\", \"15m\",\n"
"\"2h\", \"1d\" until the sensor unisolates by itself; None: until\n"
"unisolate().  force: isolate even when the platform cannot be resolved\n"
"or reached (the host then reaches only the allow-list).  Returns the new\n"
"state (isolated, since, by, expires, allow, digest ...).  The change is\n"
"audited as made by this script run.  Raises Error when it is refused or\n"
"fails, NotAvailable when the sensor runs no isolation subsystem.");

static PyObject *py_isolate(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "allow", "duration", "force", NULL };
	PyObject *allow = Py_None, *duration = Py_None, *list;
	int force = 0;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|OOp:isolate", kwlist, &allow,
					 &duration, &force))
		return NULL;
	if (duration != Py_None && !PyLong_Check(duration) && !PyUnicode_Check(duration)) {
		PyErr_SetString(PyExc_TypeError, "isolate: duration must be seconds (int) or "
				"a string such as \"15m\"");
		return NULL;
	}
	list = allow == Py_None ? PyList_New(0) : PySequence_List(allow);
	if (!list)
		return NULL;
	return call("isolate", Py_BuildValue("{s:N, s:O, s:O}", "allow", list, "for", duration,
					     "force", force ? Py_True : Py_False));
}

PyDoc_STRVAR(unisolate_doc,
"unisolate() -> dict\n\nRemove the network isolation (exactly the sensor's\n"
"table), audited as this script run's change.  Raises NotAvailable when\n"
"the sensor runs no isolation subsystem, Error when it fails.");

static PyObject *py_unisolate(PyObject *self, PyObject *unused)
{
	return call("unisolate", PyDict_New());
}

PyDoc_STRVAR(isolation_status_doc,
"isolation_status() -> dict\n\nWhether the host is isolated, since when, by\n"
"whom, with which allow-list and expiry, and whether the sensor's table\n"
"is present and intact in the kernel.  Raises NotAvailable when the\n"
"sensor runs no isolation subsystem.");

static PyObject *py_isolation_status(PyObject *self, PyObject *unused)
{
	return call("isolation_status", PyDict_New());
}

static PyMethodDef senseon_methods[] = {
	{ "upload", (PyCFunction)(void (*)(void))py_upload, METH_VARARGS | METH_KEYWORDS, upload_doc },
	{ "download", (PyCFunction)(void (*)(void))py_download, METH_VARARGS | METH_KEYWORDS, download_doc },
	{ "kill", (PyCFunction)(void (*)(void))py_kill, METH_VARARGS | METH_KEYWORDS, kill_doc },
	{ "processes", py_processes, METH_NOARGS, processes_doc },
	{ "process", py_process, METH_VARARGS, process_doc },
	{ "alert", (PyCFunction)(void (*)(void))py_alert, METH_VARARGS | METH_KEYWORDS, alert_doc },
	{ "log", (PyCFunction)(void (*)(void))py_log, METH_VARARGS | METH_KEYWORDS, log_doc },
	{ "hostname", py_hostname, METH_NOARGS, hostname_doc },
	{ "sensor_info", py_sensor_info, METH_NOARGS, sensor_info_doc },
	{ "alert_context", py_alert_context, METH_NOARGS, alert_context_doc },
	{ "isolate", (PyCFunction)(void (*)(void))py_isolate, METH_VARARGS | METH_KEYWORDS, isolate_doc },
	{ "unisolate", py_unisolate, METH_NOARGS, unisolate_doc },
	{ "isolation_status", py_isolation_status, METH_NOARGS, isolation_status_doc },
	{ NULL, NULL, 0, NULL },
};

PyDoc_STRVAR(module_doc,
"senseon - act on this host from an analyst script run by the sensor.\n\n"
"Scripts run as root in their own process; privileged calls go to the\n"
"sensor, which performs them and records each one in its audit log.\n"
"Errors raise senseon.Error or one of its subclasses: PermissionDenied,\n"
"NotAvailable, NotFound, IntegrityError.");

static struct PyModuleDef senseon_module = {
	PyModuleDef_HEAD_INIT, "senseon", module_doc, -1, senseon_methods,
	NULL, NULL, NULL, NULL,
};

static PyObject *new_error(PyObject *mod, const char *name, const char *doc,
			   PyObject *base)
{
	char full[64];
	PyObject *cls;

	snprintf(full, sizeof(full), "senseon.%s", name);
	cls = PyErr_NewExceptionWithDoc(full, doc, base, NULL);
	if (cls && PyModule_AddObjectRef(mod, name, cls)) {
		Py_DECREF(cls);
		return NULL;
	}
	return cls;
}

PyMODINIT_FUNC PyInit_senseon(void)
{
	PyObject *m = PyModule_Create(&senseon_module);

	if (!m)
		return NULL;
	err_base = new_error(m, "Error", "A senseon call failed.", NULL);
	if (!err_base)
		goto fail;
	err_perm = new_error(m, "PermissionDenied",
			     "The sensor refused the call (protected target, policy).", err_base);
	err_notavail = new_error(m, "NotAvailable",
				 "The feature is not available on this sensor.", err_base);
	err_notfound = new_error(m, "NotFound", "No such process, file or name.", err_base);
	err_integrity = new_error(m, "IntegrityError",
				  "A transfer's size or sha256 did not match.", err_base);
	if (!err_perm || !err_notavail || !err_notfound || !err_integrity)
		goto fail;
	if (PyModule_AddStringConstant(m, "__version__", PACKAGE_VERSION))
		goto fail;
	/* Now, in the zygote, rather than in every script's first call. */
	if (load_json())
		goto fail;
	return m;
fail:
	Py_DECREF(m);
	return NULL;
}
