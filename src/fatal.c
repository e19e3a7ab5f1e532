/* Messages without allocating: a small formatter (%s %c %d %u %lu %zu %x
 * %lx %p %%) into a stack buffer, written with write(2).  Misuse of the
 * API ends here with one fixed line "hakmem: <what> of 0x..." and abort(),
 * so the process stops at the first sign of heap corruption. */
#include <stdlib.h>
#include <unistd.h>
#include "internal.h"

void hak__write_all(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

static size_t put_num(char *tmp, unsigned long v, unsigned base) {
  size_t n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  return n;
}

int hak__vfmt(char *buf, size_t len, const char *fmt, va_list ap) {
  size_t o = 0;
#define PUT(ch) do { if (o + 1 < len) buf[o] = (ch); o++; } while (0)
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') { PUT(*f); continue; }
    f++;
    int lng = 0;
    while (*f == 'l' || *f == 'z') { lng = 1; f++; }
    char tmp[24];
    size_t n = 0;
    switch (*f) {
    case 's': { const char *s = va_arg(ap, const char *); if (!s) s = "(null)"; while (*s) PUT(*s++); continue; }
    case 'c': PUT((char)va_arg(ap, int)); continue;
    case 'd': {
      long v = lng ? va_arg(ap, long) : va_arg(ap, int);
      unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;
      if (v < 0) PUT('-');
      n = put_num(tmp, u, 10);
      break;
    }
    case 'u': n = put_num(tmp, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10); break;
    case 'x': n = put_num(tmp, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16); break;
    case 'p': PUT('0'); PUT('x'); n = put_num(tmp, (unsigned long)(uintptr_t)va_arg(ap, void *), 16); break;
    case '%': PUT('%'); continue;
    default: PUT('%'); if (*f) PUT(*f); else f--; continue;
    }
    while (n) PUT(tmp[--n]);
  }
#undef PUT
  if (len) buf[o < len ? o : len - 1] = '\0';
  return (int)(o < len ? o : len - 1);
}

int hak__fmt(char *buf, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = hak__vfmt(buf, len, fmt, ap);
  va_end(ap);
  return n;
}

static void vline(const char *fmt, va_list ap) {
  char buf[512];
  int n = hak__vfmt(buf, sizeof buf - 1, fmt, ap);
  buf[n++] = '\n';
  hak__write_all(2, buf, (size_t)n);
}

void hak__warn(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vline(fmt, ap);
  va_end(ap);
}

void hak__fatal(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vline(fmt, ap);
  va_end(ap);
  abort();
}

void hak__assert_fail(const char *cond, const char *file, int line) {
  hak__fatal("hakmem: internal assertion failed: %s (%s:%d)", cond, file, line);
}

const char *hak__tier_name(int cls) {
  return cls < 0 ? "large" : cls < HAK_TINY_CLASSES ? "tiny" : "mid";
}
