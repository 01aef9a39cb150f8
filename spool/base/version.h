/*
 * version.h - which spool this is.
 *
 * The version is set in one place, VERSION in the Makefile; a build from
 * a git checkout adds what `git describe` says ("0.2.0 (git 637aece)").
 * The definition is generated into the build directory (tools/version.sh).
 */
#ifndef SPOOL_VERSION_H
#define SPOOL_VERSION_H

/* "VERSION" or "VERSION (git DESCRIPTION)" */
const char *spool_version(void);

#endif
