// SPDX-License-Identifier: MIT
/*
 * 16550A UART model. Register map (offset from 0x3f8, DLAB = LCR bit 7):
 *   0 RBR/THR (DLL when DLAB)   1 IER (DLM when DLAB)   2 IIR/FCR   3 LCR
 *   4 MCR   5 LSR   6 MSR   7 SCR
 * The transmitter is always empty (bytes go straight to out_fd), so THRE
 * interrupts fire as soon as the guest enables them or writes a byte. The
 * interrupt line is edge-triggered on the ISA bus: we pulse IRQ 4 whenever the
 * UART goes from no pending interrupt to one.
 *
 * The model also watches console lines for Linux's panic banner so that a
 * guest panic followed by a reset (panic=1) ends with FP_EXIT_PANIC.
 */
#include "devices/serial.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "boot/layout.h"

#define UART_IER_RDI  0x01 /* receive data available */
#define UART_IER_THRI 0x02 /* transmitter empty */
#define UART_IIR_NONE 0x01
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI  0x04
#define UART_IIR_FIFO 0xc0
#define UART_LCR_DLAB 0x80
#define UART_MCR_LOOP 0x10
#define UART_LSR_DR   0x01
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RX 0x02

#define RX_FIFO_SIZE 64
#define PANIC_BANNER "Kernel panic - not syncing"

struct serial {
	struct vm *vm;
	pthread_mutex_t lock;
	int out_fd, in_fd;
	int rx_room_fd;   /* eventfd: the guest drained the FIFO; resume reading in_fd */
	bool in_paused;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thri_pending;
	uint8_t rx[RX_FIFO_SIZE];
	int rx_head, rx_len;
	char line[128];   /* current console line, for the panic banner */
	size_t line_len;
};

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFO : 0;

	if ((s->ier & UART_IER_RDI) && s->rx_len)
		return UART_IIR_RDI | fifo;
	if ((s->ier & UART_IER_THRI) && s->thri_pending)
		return UART_IIR_THRI | fifo;
	return UART_IIR_NONE | fifo;
}

/* Call with the lock held, around any change of interrupt state. */
static void serial_update_irq(struct serial *s, bool was_pending)
{
	bool pending = !(serial_iir(s) & UART_IIR_NONE);

	if (pending && !was_pending)
		vm_irq_pulse(s->vm, COM1_IRQ);
}

static void serial_watch_line(struct serial *s, uint8_t c)
{
	if (c == '\n' || s->line_len == sizeof(s->line) - 1) {
		s->line[s->line_len] = '\0';
		if (strstr(s->line, PANIC_BANNER))
			atomic_store(&s->vm->guest_panicked, true);
		s->line_len = 0;
	}
	if (c != '\n')
		s->line[s->line_len++] = c;
}

static void serial_rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_len < RX_FIFO_SIZE) {
		s->rx[(s->rx_head + s->rx_len) % RX_FIFO_SIZE] = c;
		s->rx_len++;
	}
}

static void serial_transmit(struct serial *s, uint8_t c)
{
	if (s->mcr & UART_MCR_LOOP) {
		serial_rx_push(s, c);
		return;
	}
	serial_watch_line(s, c);
	if (s->out_fd >= 0) {
		/*
		 * Blocking write: a console reader that falls behind slows the guest
		 * down rather than losing its log. (Issue: a reader that never reads
		 * stalls this vCPU; a buffered writer on the event loop is the cure.)
		 */
		while (write(s->out_fd, &c, 1) < 0 && errno == EINTR)
			;
	}
}

static uint8_t serial_msr(const struct serial *s)
{
	if (s->mcr & UART_MCR_LOOP) {
		/* Loopback: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. */
		return ((s->mcr & 0x02) << 3) | ((s->mcr & 0x01) << 5) | ((s->mcr & 0x04) << 4) |
		       ((s->mcr & 0x08) << 4);
	}
	return 0xb0; /* DCD, DSR, CTS */
}

static void serial_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct serial *s = opaque;
	bool dlab, was_pending;
	bool wake_input = false;

	pthread_mutex_lock(&s->lock);
	dlab = s->lcr & UART_LCR_DLAB;
	was_pending = !(serial_iir(s) & UART_IIR_NONE);
	if (is_write) {
		uint8_t v = data[0];

		switch (off) {
		case 0:
			if (dlab) {
				s->dll = v;
			} else {
				serial_transmit(s, v);
				s->thri_pending = true;
			}
			break;
		case 1:
			if (dlab) {
				s->dlm = v;
			} else {
				if (!(s->ier & UART_IER_THRI) && (v & UART_IER_THRI))
					s->thri_pending = true;
				s->ier = v & 0x0f;
			}
			break;
		case 2:
			s->fcr = v & 0xc9;
			if (v & UART_FCR_CLEAR_RX) {
				s->rx_len = 0;
				wake_input = true;
			}
			break;
		case 3:
			s->lcr = v;
			break;
		case 4:
			s->mcr = v & 0x1f;
			break;
		case 7:
			s->scr = v;
			break;
		}
	} else {
		uint8_t v = 0;

		switch (off) {
		case 0:
			if (dlab) {
				v = s->dll;
			} else if (s->rx_len) {
				v = s->rx[s->rx_head];
				s->rx_head = (s->rx_head + 1) % RX_FIFO_SIZE;
				s->rx_len--;
				wake_input = s->rx_len == 0;
			}
			break;
		case 1:
			v = dlab ? s->dlm : s->ier;
			break;
		case 2:
			v = serial_iir(s);
			/* Reading IIR acknowledges a THRE interrupt (16550 datasheet). */
			if ((v & 0x0f) == UART_IIR_THRI)
				s->thri_pending = false;
			break;
		case 3:
			v = s->lcr;
			break;
		case 4:
			v = s->mcr;
			break;
		case 5:
			v = UART_LSR_THRE | UART_LSR_TEMT | (s->rx_len ? UART_LSR_DR : 0);
			break;
		case 6:
			v = serial_msr(s);
			break;
		case 7:
			v = s->scr;
			break;
		}
		memset(data, 0, len);
		data[0] = v;
	}
	serial_update_irq(s, was_pending);
	if (wake_input && s->in_paused) {
		uint64_t one = 1;

		if (write(s->rx_room_fd, &one, sizeof(one)) < 0) {
			/* eventfd write only fails on overflow; the loop is already woken. */
		}
	}
	pthread_mutex_unlock(&s->lock);
}

/* Event loop: bytes from the host for the guest. */
static void serial_input_ready(void *opaque, uint32_t events)
{
	struct serial *s = opaque;
	uint8_t buf[RX_FIFO_SIZE];
	ssize_t n;
	bool was_pending;

	pthread_mutex_lock(&s->lock);
	n = RX_FIFO_SIZE - s->rx_len;
	if (n > 0)
		n = read(s->in_fd, buf, n);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		/* End of input: stop watching it, the guest keeps running. */
		loop_del(&s->vm->loop, s->in_fd);
		s->in_fd = -1;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	was_pending = !(serial_iir(s) & UART_IIR_NONE);
	for (ssize_t i = 0; i < n; i++)
		serial_rx_push(s, buf[i]);
	if (s->rx_len == RX_FIFO_SIZE && !s->in_paused) {
		/* Leave the rest in the pipe until the guest reads the FIFO. */
		loop_mod(&s->vm->loop, s->in_fd, 0);
		s->in_paused = true;
	}
	serial_update_irq(s, was_pending);
	pthread_mutex_unlock(&s->lock);
}

static void serial_rx_room(void *opaque, uint32_t events)
{
	struct serial *s = opaque;
	uint64_t cnt;

	if (read(s->rx_room_fd, &cnt, sizeof(cnt)) < 0) {
		/* Spurious wake-up; nothing to consume. */
	}
	pthread_mutex_lock(&s->lock);
	if (s->in_paused && s->in_fd >= 0) {
		loop_mod(&s->vm->loop, s->in_fd, EPOLLIN);
		s->in_paused = false;
	}
	pthread_mutex_unlock(&s->lock);
}

struct serial *serial_create(struct vm *vm, int out_fd, int in_fd)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->vm = vm;
	s->out_fd = out_fd;
	s->in_fd = -1;
	s->rx_room_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	if (bus_register(&vm->pio, COM1_PORT, 8, serial_io, s, "serial") < 0) {
		fprintf(stderr, "flashpan: cannot register COM1\n");
		serial_destroy(s);
		return NULL;
	}
	if (in_fd >= 0) {
		s->rx_room_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (s->rx_room_fd < 0 || loop_add(&vm->loop, s->rx_room_fd, EPOLLIN, serial_rx_room, s) ||
		    loop_add(&vm->loop, in_fd, EPOLLIN, serial_input_ready, s)) {
			fprintf(stderr, "flashpan: cannot watch console input: %s\n", strerror(errno));
		} else {
			s->in_fd = in_fd;
		}
	}
	return s;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	if (s->rx_room_fd >= 0)
		close(s->rx_room_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
