/* vsprobe's network probes: socket families the guest must not get, and the host's
 * abstract unix sockets. */
#include "vsprobe.h"

/* ---- E21 sockets ----------------------------------------------------------------- */

static long t_socket(void *p)
{
	const int *a = p;
	return close_fd(sys6(SYS_socket, a[0], a[1], a[2], 0, 0, 0));
}

void probe_sockets(int argc, char **argv)
{
	static const struct {
		const char *what;
		int args[3];
	} t[] = {
		{"socket(AF_ALG, SOCK_SEQPACKET)", {AF_ALG, SOCK_SEQPACKET, 0}},
		{"socket(AF_VSOCK, SOCK_STREAM)", {AF_VSOCK, SOCK_STREAM, 0}},
		{"socket(AF_PACKET, SOCK_RAW)", {AF_PACKET, SOCK_RAW, 0x0300 /* htons(ETH_P_ALL) */}},
		{"socket(AF_INET, SOCK_RAW, ICMP)", {AF_INET, SOCK_RAW, 1}},
		{"socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT)", {AF_NETLINK, SOCK_RAW, NETLINK_AUDIT}},
		/* Invalid type 15: EINVAL means the family got past the seccomp filter (and no
		 * module is autoloaded for it). */
		{"socket(AF_ALG, invalid type)", {AF_ALG, 15, 0}},
		{"socket(AF_VSOCK, invalid type)", {AF_VSOCK, 15, 0}},
	};
	static const int refusals[] = {EACCES, EAFNOSUPPORT, EPROTONOSUPPORT, ESOCKTNOSUPPORT, 0};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int real = t[i].args[1] != 15;
		judge_also("sockets", t[i].what, in_child(t_socket, (void *)t[i].args),
			   real ? "unexpected error" : "the address family passed the seccomp filter",
			   real ? refusals : NULL);
	}
	static const int inet[3] = {AF_INET, SOCK_STREAM, 0};
	struct outcome o = in_child(t_socket, (void *)inet);
	if (o.ran && o.ret >= 0)
		OK("sockets-control", "socket(AF_INET, SOCK_STREAM) works");
	else
		ERR("sockets-control", "socket(AF_INET, SOCK_STREAM) -> %s, expected to work",
		    o.ran ? ename((int)-o.ret) : "no result");
}

/* ---- E27 abstract unix sockets of the host ---------------------------------------- */

static const char *abstract_name;

/* connect(2) (SOCK_STREAM) or sendto(2) (SOCK_DGRAM) to the abstract socket `abstract_name`. */
static long t_abstract(void *p)
{
	int type = *(const int *)p;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t n = strlen(abstract_name);
	if (n > sizeof a.sun_path - 1)
		n = sizeof a.sun_path - 1;
	memcpy(a.sun_path + 1, abstract_name, n);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	long fd = sys6(SYS_socket, AF_UNIX, type | SOCK_CLOEXEC, 0, 0, 0, 0);
	if (fd < 0)
		return fd;
	long r = type == SOCK_STREAM
			 ? sys6(SYS_connect, fd, (long)&a, len, 0, 0, 0)
			 : sys6(SYS_sendto, fd, (long)"x", 1, MSG_NOSIGNAL, (long)&a, len);
	close(fd);
	return r < 0 ? r : 0;
}

/* NAME: an abstract socket the host listens on (stream and datagram, the test makes both
 * under NAME-s and NAME-d). Only EPERM counts as blocked: ECONNREFUSED says the name is not
 * there at all (another network namespace, or no listener), which proves nothing. */
void probe_abstract_unix(int argc, char **argv)
{
	static const int stream = SOCK_STREAM, dgram = SOCK_DGRAM;
	static char names[2][108];
	snprintf(names[0], sizeof names[0], "%s-s", argv[0]);
	snprintf(names[1], sizeof names[1], "%s-d", argv[0]);
	for (int i = 0; i < 2; i++) {
		abstract_name = names[i];
		struct outcome o = in_child(t_abstract, (void *)(i == 0 ? &stream : &dgram));
		const char *what = i == 0 ? "connect(abstract stream)" : "sendto(abstract dgram)";
		int e = o.ran && o.ret < 0 ? (int)-o.ret : 0;
		if (o.ran && e == EPERM)
			OK("abstract-unix", "%s %s -> EPERM", what, names[i]);
		else if (o.ran && o.ret == 0)
			ESC("abstract-unix", 0, "%s %s reached the host's socket", what, names[i]);
		else
			ERR("abstract-unix", "%s %s -> %s, expected EPERM", what, names[i],
			    o.ran ? ename(e) : "no result");
	}
}
