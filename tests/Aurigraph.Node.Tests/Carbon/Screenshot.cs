using System.Diagnostics;
using SkiaSharp;

namespace Aurigraph.Node.Tests.Carbon;

/// <summary>
/// Renders an HTML page with headless Chromium into a PNG and reads its pixels back, so that the tests can check what
/// a person would see. A missing Chromium fails the test naming it.
/// </summary>
internal sealed class Screenshot : IDisposable
{
    public const string Chromium = "/usr/bin/chromium";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Where the last screenshots stay for a person to look at (overwritten by each run).</summary>
    public static string Folder { get; } = Path.Combine(Path.GetTempPath(), "aurigraph-render");

    private readonly SKBitmap _bitmap;

    private Screenshot(SKBitmap bitmap) => _bitmap = bitmap;

    public int Width => _bitmap.Width;

    public int Height => _bitmap.Height;

    /// <summary>Writes <paramref name="html"/> to <c>{name}.html</c> and renders it into <c>{name}.png</c> in a window of the given size.</summary>
    public static Screenshot Of(string html, string name, int width = 1200, int height = 1800)
    {
        Assert.True(File.Exists(Chromium), $"'{Chromium}' is needed for the report rendering tests and is not installed: apt-get install chromium");
        Directory.CreateDirectory(Folder);
        var page = Path.Combine(Folder, name + ".html");
        var png = Path.Combine(Folder, name + ".png");
        File.WriteAllText(page, html);
        File.Delete(png);
        var profile = Directory.CreateTempSubdirectory("aurigraph-chromium-");
        try
        {
            var start = new ProcessStartInfo(Chromium)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--force-device-scale-factor=1", "--force-color-profile=srgb",
                $"--user-data-dir={profile.FullName}", $"--window-size={width},{height}", $"--screenshot={png}", new Uri(page).AbsoluteUri,
            })
            {
                start.ArgumentList.Add(argument);
            }
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(Timeout))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"chromium did not finish rendering {page} within {Timeout.TotalSeconds} s");
            }
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"chromium exited with {process.ExitCode}: {error.GetAwaiter().GetResult()}{output.GetAwaiter().GetResult()}");
        }
        finally
        {
            profile.Delete(recursive: true);
        }
        Assert.True(File.Exists(png), $"chromium wrote no screenshot {png}");
        var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        return new Screenshot(bitmap);
    }

    /// <summary>Pixels within <paramref name="tolerance"/> per channel of <paramref name="colour"/> (<c>#rrggbb</c>) in rows [<paramref name="fromRow"/>, <paramref name="toRow"/>).</summary>
    public int Count(string colour, int fromRow = 0, int toRow = int.MaxValue, int tolerance = 3)
    {
        var want = SKColor.Parse(colour);
        var count = 0;
        var pixels = _bitmap.Pixels;
        for (var y = Math.Max(fromRow, 0); y < Math.Min(toRow, Height); y++)
        {
            for (var x = 0; x < Width; x++)
            {
                var p = pixels[(y * Width) + x];
                if (Math.Abs(p.Red - want.Red) <= tolerance && Math.Abs(p.Green - want.Green) <= tolerance && Math.Abs(p.Blue - want.Blue) <= tolerance)
                {
                    count++;
                }
            }
        }
        return count;
    }

    /// <summary>The share of pixels that are not (near) white: a blank page has none.</summary>
    public double InkFraction()
    {
        var ink = 0;
        foreach (var p in _bitmap.Pixels)
        {
            ink += p.Red < 240 || p.Green < 240 || p.Blue < 240 ? 1 : 0;
        }
        return (double)ink / (Width * Height);
    }

    public void Dispose() => _bitmap.Dispose();
}
