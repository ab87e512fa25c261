/*
 * ProcessPrng for a Wine that lacks bcryptprimitives.dll (Debian 12's Wine 8.0): Go's Windows runtime (1.22 and
 * later) takes its random numbers from it and will not start without it. Windows 10 and later ship the real one;
 * Wine 9 has it too. This one answers from RtlGenRandom (advapi32's SystemFunction036), which Wine has.
 * Built by the Wine test with Debian's mingw-w64 when the prefix has no bcryptprimitives.dll.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

BOOL WINAPI DllMainCRTStartup(HINSTANCE instance, DWORD reason, LPVOID reserved) { return TRUE; }
