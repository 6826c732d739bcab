using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace FlowWatch.Core.Engine;

/// <summary>
/// Asks the processor to start loading a cache line that the engine will read a little later in the same event, so
/// that the wait for memory overlaps work that does not need it. A hint only: a prefetch never faults and changes
/// no result, so an address the garbage collector has since moved costs nothing but the hint. Without SSE it does
/// nothing.
/// </summary>
internal static class CacheHint
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Prefetch<T>(ref T location)
    {
        if (Sse.IsSupported) Sse.Prefetch0(Unsafe.AsPointer(ref location));
    }
}
