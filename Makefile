# spool - store-and-forward for air-gapped networks.
#
#   make            build spoold, spoolctl and libspool
#   make check      install missing packages, build, run every test
#   make demo       install missing packages, build, run the demo
#   make bench      benchmarks against the anchor tools (minisign, zstd, tar)
#   make fuzz       run every libFuzzer target for FUZZ_TIME seconds each
#   make install    PREFIX=/usr/local DESTDIR=  (make uninstall: the same)
#
# SANITIZE=address,undefined builds into build-san/; WERROR=1 adds -Werror;
# V=1 shows the commands.

# The version, set here only (spoold --version, spoolctl --version, the man
# pages); a build from a git checkout adds `git describe`.
VERSION = 0.2.0

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
DOCDIR ?= $(DATADIR)/doc/spool
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
# systemd reads /usr/local/lib/systemd/system too
UNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL ?= install
CC ?= cc
PKG_CONFIG ?= pkg-config
FUZZ_TIME ?= 60

PKGS = libsodium libzstd jansson inih sqlite3 libpq

ifeq ($(SANITIZE),)
BUILD ?= build
SANFLAGS =
else
BUILD ?= build-san
SANFLAGS = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

CFLAGS ?= -O2 -g
WARN = -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
       -Wmissing-prototypes -Wvla -Wformat=2 -Wno-format-nonliteral
ifeq ($(WERROR),1)
WARN += -Werror
endif
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
# One include root for everything: the library's files name each other
# "spool/FOLDER/NAME.h", programs include "spool/spool.h" (the public
# headers; tests/t/t0010-layers.sh checks both, docs/ARCHITECTURE.md).
ALL_CFLAGS = $(WARN) -D_GNU_SOURCE -I. $(PKG_CFLAGS) \
	     -DSPOOL_LIBEXECDIR='"$(LIBEXECDIR)"' \
	     $(EXTRA_CFLAGS) $(SANFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)
LIBS = $(PKG_LIBS) -lm -pthread

ifeq ($(V),1)
Q =
else
Q = @
endif

# libspool's folders, lowest layer first (docs/ARCHITECTURE.md): a new
# folder is added here, a new file in one of them is found by itself
SPOOL_DIRS = base keys format store job node flow
LIB_SRC := $(sort $(foreach d,$(SPOOL_DIRS),$(wildcard spool/$(d)/*.c)))
CTL_SRC := $(sort $(wildcard spoolctl/*.c))
D_SRC := $(sort $(wildcard spoold/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
TORTURE_SRC := tests/torture/torture.c tests/unit/harness.c
# test programs: each tests/tools/NAME.c is build/NAME
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
SCHEMAS := $(sort $(wildcard schemas/*.schema.json))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/gen/schemas_embed.o \
	   $(BUILD)/gen/store_sql.o $(BUILD)/gen/version.o
CTL_OBJ := $(CTL_SRC:%.c=$(BUILD)/obj/%.o)
D_OBJ := $(D_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)
TORTURE_OBJ := $(TORTURE_SRC:%.c=$(BUILD)/obj/%.o)
TOOLS := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/%)
# kept: make would delete them as intermediates of the pattern rule
.SECONDARY: $(TOOL_SRC:%.c=$(BUILD)/obj/%.o)

# worker programs: each workers/KIND/ is $(BUILD)/libexec/spool/KIND, linked
# with libspool and the pkg-config packages named in workers/KIND/pkgs
WORKER_KINDS := $(sort $(notdir $(patsubst %/,%,$(dir $(wildcard workers/*/*.c)))))
WORKERS := $(WORKER_KINDS:%=$(BUILD)/libexec/spool/%)

LIBSPOOL = $(BUILD)/libspool.a
SPOOLCTL = $(BUILD)/spoolctl
SPOOLD = $(BUILD)/spoold
UNIT = $(BUILD)/unit
# replaces malloc, so not with sanitizers (they own it)
TORTURE = $(if $(SANITIZE),,$(BUILD)/torture)

.PHONY: all deps check test demo bench fuzz install uninstall clean FORCE

# preloaded by tests to move a process's wall clock (never with
# sanitizers' flags: it runs inside their processes, not as one)
SHIMS := $(BUILD)/clockshift.so

all: $(SPOOLCTL) $(SPOOLD) $(WORKERS) $(UNIT) $(TORTURE) $(TOOLS) $(SHIMS)

$(BUILD)/%.so: tests/shim/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(WARN) -D_GNU_SOURCE -O2 -fPIC -shared -o $@ $< -ldl

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/gen/schemas_embed.c: $(SCHEMAS) tools/embed-schemas.sh
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)sh tools/embed-schemas.sh $(SCHEMAS) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/schemas_embed.o: $(BUILD)/gen/schemas_embed.c
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/gen/store_sql.c: schemas/store.sql tools/embed-sql.sh
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)sh tools/embed-sql.sh schemas/store.sql > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/store_sql.o: $(BUILD)/gen/store_sql.c
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# rewritten only when the version (or git's description) changed
$(BUILD)/gen/version.c: FORCE
	@mkdir -p $(dir $@)
	$(Q)sh tools/version.sh $(VERSION) > $@.tmp && \
	    if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi

$(BUILD)/gen/version.o: $(BUILD)/gen/version.c
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

FORCE:

$(LIBSPOOL): $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(SPOOLCTL): $(CTL_OBJ) $(LIBSPOOL)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CTL_OBJ) $(LIBSPOOL) $(LIBS)

$(SPOOLD): $(D_OBJ) $(LIBSPOOL)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(D_OBJ) $(LIBSPOOL) $(LIBS)

$(UNIT): $(UNIT_OBJ) $(LIBSPOOL)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(UNIT_OBJ) $(LIBSPOOL) $(LIBS)

$(BUILD)/%: $(BUILD)/obj/tests/tools/%.o $(LIBSPOOL)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBSPOOL) $(LIBS)

define worker_rules
$(1)_SRC := $$(sort $$(wildcard workers/$(1)/*.c))
$(1)_OBJ := $$($(1)_SRC:%.c=$$(BUILD)/obj/%.o)
$(1)_PKGS := $$(strip $$(shell cat workers/$(1)/pkgs 2>/dev/null))
$$($(1)_OBJ): EXTRA_CFLAGS := $$(if $$($(1)_PKGS),$$(shell $$(PKG_CONFIG) --cflags $$($(1)_PKGS)))
$$(BUILD)/libexec/spool/$(1): $$($(1)_OBJ) $$(LIBSPOOL)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(ALL_LDFLAGS) -o $$@ $$($(1)_OBJ) $$(LIBSPOOL) \
	    $$(if $$($(1)_PKGS),$$(shell $$(PKG_CONFIG) --libs $$($(1)_PKGS))) $$(LIBS)
endef
$(foreach k,$(WORKER_KINDS),$(eval $(call worker_rules,$(k))))

$(BUILD)/torture: $(TORTURE_OBJ) $(LIBSPOOL)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(TORTURE_OBJ) $(LIBSPOOL) $(LIBS)

deps:
	$(Q)sh tools/deps.sh

# Runs the unit tests and every tests/t/*.sh; ends with "N passed, N failed".
check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) sh tests/run

test: all
	$(Q)BUILD=$(BUILD) sh tests/run

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) sh tools/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) sh tests/bench/run.sh

FUZZ_BUILD = build-fuzz
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
fuzz: deps
	$(Q)$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang \
		SANFLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -DSPOOL_FUZZING" \
		$(FUZZ_BUILD)/libspool.a
	$(Q)for src in $(FUZZ_SRC); do \
		t=$$(basename $$src .c); \
		clang $(WARN) -D_GNU_SOURCE -DSPOOL_FUZZING -I. -g -O1 $(PKG_CFLAGS) \
		    -fsanitize=fuzzer,address,undefined -o $(FUZZ_BUILD)/$$t \
		    $$src $(FUZZ_BUILD)/libspool.a $(LIBS) || exit 1; \
	done
	$(Q)FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_TIME=$(FUZZ_TIME) sh tests/fuzz/run.sh

# What make install puts where (make uninstall removes exactly these):
# programs, the workers built into $(BUILD)/libexec/spool/, man pages,
# bash completion, systemd units (their paths made the installed ones),
# and the examples with the udev rule.  Users and the node: spool-setup.
MAN_PAGES := $(sort $(wildcard docs/man/*.[1-8]))
EXAMPLES := $(sort $(wildcard contrib/examples/*)) \
	    contrib/90-spool-usb.rules contrib/spool-usb.default
UNITS := contrib/spoold.service contrib/spool-usb@.service
SBIN_SCRIPTS := contrib/spool-setup contrib/spool-usb
# the workers' names: those built, and those the tree has sources for
WORKER_NAMES = $(sort $(WORKER_KINDS) $(notdir $(wildcard $(BUILD)/libexec/spool/*)))
D = $(DESTDIR)
# units and scripts name the installed programs
INSTALLED_PATHS = sed -e 's|/usr/local/sbin/|$(SBINDIR)/|g' \
	-e 's|SPOOLCTL:-spoolctl}|SPOOLCTL:-$(BINDIR)/spoolctl}|'

install: $(SPOOLCTL) $(SPOOLD) $(WORKERS)
	$(INSTALL) -d $(D)$(BINDIR) $(D)$(SBINDIR) $(D)$(UNITDIR) \
	    $(D)$(BASHCOMPDIR) $(D)$(DOCDIR)/examples \
	    $(sort $(foreach m,$(MAN_PAGES),$(D)$(MANDIR)/man$(subst .,,$(suffix $(m)))))
	$(INSTALL) -m 0755 $(SPOOLCTL) $(D)$(BINDIR)/spoolctl
	$(INSTALL) -m 0755 $(SPOOLD) $(D)$(SBINDIR)/spoold
	$(Q)for f in $(SBIN_SCRIPTS); do \
		echo "$(INSTALL) -m 0755 $$f $(D)$(SBINDIR)/"; \
		$(INSTALLED_PATHS) $$f > $(D)$(SBINDIR)/$${f##*/}.tmp && \
		chmod 0755 $(D)$(SBINDIR)/$${f##*/}.tmp && \
		mv $(D)$(SBINDIR)/$${f##*/}.tmp $(D)$(SBINDIR)/$${f##*/} || exit 1; \
	done
	$(Q)for w in $(BUILD)/libexec/spool/*; do \
		[ -f "$$w" ] && [ -x "$$w" ] || continue; \
		echo "$(INSTALL) -m 0755 $$w $(D)$(LIBEXECDIR)/spool/"; \
		$(INSTALL) -d $(D)$(LIBEXECDIR)/spool && \
		$(INSTALL) -m 0755 "$$w" $(D)$(LIBEXECDIR)/spool/ || exit 1; \
	done
	$(Q)for m in $(MAN_PAGES); do \
		s=$${m##*.}; t=$(D)$(MANDIR)/man$$s/$${m##*/}; \
		echo "$(INSTALL) -m 0644 $$m $(D)$(MANDIR)/man$$s/"; \
		sed 's/^\(\.TH .*\) spool "spool manual"$$/\1 "spool $(VERSION)" "spool manual"/' \
		    $$m > $$t.tmp && chmod 0644 $$t.tmp && mv $$t.tmp $$t || exit 1; \
	done
	$(INSTALL) -m 0644 contrib/spoolctl.bash-completion $(D)$(BASHCOMPDIR)/spoolctl
	$(Q)for u in $(UNITS); do \
		echo "$(INSTALL) -m 0644 $$u $(D)$(UNITDIR)/"; \
		$(INSTALLED_PATHS) $$u > $(D)$(UNITDIR)/$${u##*/}.tmp && \
		chmod 0644 $(D)$(UNITDIR)/$${u##*/}.tmp && \
		mv $(D)$(UNITDIR)/$${u##*/}.tmp $(D)$(UNITDIR)/$${u##*/} || exit 1; \
	done
	$(INSTALL) -m 0644 $(EXAMPLES) $(D)$(DOCDIR)/examples/

uninstall:
	rm -f $(D)$(BINDIR)/spoolctl $(D)$(SBINDIR)/spoold \
	    $(addprefix $(D)$(SBINDIR)/,$(notdir $(SBIN_SCRIPTS))) \
	    $(addprefix $(D)$(LIBEXECDIR)/spool/,$(WORKER_NAMES)) \
	    $(foreach m,$(MAN_PAGES),$(D)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m))) \
	    $(D)$(BASHCOMPDIR)/spoolctl \
	    $(addprefix $(D)$(UNITDIR)/,$(notdir $(UNITS))) \
	    $(addprefix $(D)$(DOCDIR)/examples/,$(notdir $(EXAMPLES)))
	-rmdir $(D)$(LIBEXECDIR)/spool $(D)$(DOCDIR)/examples $(D)$(DOCDIR) 2>/dev/null

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(CTL_OBJ:.o=.d) $(D_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) \
	$(foreach k,$(WORKER_KINDS),$($(k)_OBJ:.o=.d)) \
	$(TORTURE_OBJ:.o=.d) $(TOOL_SRC:%.c=$(BUILD)/obj/%.d)
