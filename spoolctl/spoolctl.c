/* spoolctl - placeholder main for the skeleton commit; replaced next. */
#include <stdio.h>
int main(void) { fputs("usage: spoolctl COMMAND\n", stderr); return 2; }
