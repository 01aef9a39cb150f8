/* spoold - skeleton; the daemon loop is issue 4. */
#include <stdio.h>
int main(void) { fputs("usage: spoold -c FILE\n", stderr); return 2; }
