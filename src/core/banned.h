/*
 * banned.h - libc calls that are easy to misuse, banned from nxx sources
 * (git's approach): using one is a compile error that names the
 * replacement.  Included last by every .c file of the library.
 */
#ifndef NXX_CORE_BANNED_H
#define NXX_CORE_BANNED_H

#define NXX_BANNED(func) sorry_##func##_is_banned_in_nxx

#undef strcpy
#define strcpy(x, y) NXX_BANNED(strcpy)
#undef strcat
#define strcat(x, y) NXX_BANNED(strcat)
#undef sprintf
#define sprintf(...) NXX_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) NXX_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) NXX_BANNED(strtok)
#undef atoi
#define atoi(x) NXX_BANNED(atoi)
#undef gmtime
#define gmtime(x) NXX_BANNED(gmtime)
#undef localtime
#define localtime(x) NXX_BANNED(localtime)

#endif
