# SPDX-License-Identifier: GPL-2.0
#
# dsmil: build the module, the tools, and run the tests.
#
#   make              build dsmil.ko against KDIR (default: the running kernel)
#   make check        everything a change must pass (installs what is missing,
#                     builds the debug kernel once, boots it under QEMU)
#   make demo         a guest session on Debian's own 6.12 kernel
#   make bench        the benchmark table (guest, Debian 6.12 kernel)
#   make fuzz         the long fuzz and stress runs (debug kernel)
#   make install      module (modules_install) + tools and man pages
#   make deb          Debian packages dsmil-dkms and dsmil-tools, offline, into
#                     .build/deb/ (or $DSMIL_DEB_OUT): tools/build-deb
#   make deps         install build/test packages (Debian 12)
#
# Nothing here loads anything into the running kernel: every load happens in
# a QEMU guest started by tools/dsmil-vm.

KVER	?= $(shell uname -r)
KDIR	?= /lib/modules/$(KVER)/build
PREFIX	?= /usr/local

all: modules

modules:
	@if [ ! -d "$(KDIR)/" ]; then \
		echo "No kernel build directory at $(KDIR)."; \
		echo "Install the headers of the kernel you want to build for"; \
		echo "(apt-get install linux-headers-$(KVER)) or point KDIR at a"; \
		echo "configured kernel tree: make KDIR=/path/to/build."; \
		echo "To build and test in a QEMU guest instead: make check / make demo."; \
		exit 1; \
	fi
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

modules_install: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install

install: modules_install
	$(MAKE) -C tools install PREFIX=$(PREFIX)

clean:
	@if [ -d "$(KDIR)/" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -rf .build
	@if [ -f tools/Makefile ]; then $(MAKE) -C tools clean; fi
	@if [ -f tests/guest/Makefile ]; then $(MAKE) -C tests/guest clean; fi

deps:
	tools/deps --distro-kernels

check:
	tools/check

demo: deps
	tools/demo

bench: deps
	tools/dsmil-vm --kernel 6.12 --timeout 1800 -- dsmil-bench

fuzz:
	tests/host/run-suites --long

deb:
	tools/deps --packaging
	tools/build-deb

.PHONY: all modules modules_install install clean deps check demo bench fuzz deb
