// SPDX-License-Identifier: MIT
#include "guest/init/network.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guest/init/console.h"

#define GUEST_NIC "eth0"

static void set_mtu(int sock, const char *ifname, int mtu)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_mtu = mtu;
	if (ioctl(sock, SIOCSIFMTU, &ifr) < 0)
		console__fatal("%s: set MTU %d: %s%s", ifname, mtu, strerror(errno),
			       errno == ENODEV ? " (no network device: is the VM's NIC there?)" : "");
}

static void set_up(int sock, const char *ifname)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		console__fatal("%s: get flags: %s", ifname, strerror(errno));
	if (ifr.ifr_flags & IFF_UP)
		return;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		console__fatal("%s: bring up: %s", ifname, strerror(errno));
}

void network__up(const struct cmdline_config *cfg)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (sock < 0)
		console__fatal("network: socket: %s", strerror(errno));
	set_up(sock, "lo");
	if (!cfg->no_network) {
		set_mtu(sock, GUEST_NIC, cfg->mtu);
		set_up(sock, GUEST_NIC);
	}
	close(sock);
}
