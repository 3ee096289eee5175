; Inno Setup 6 script for InvoiceDesk on Windows (x64).
;
; Build the bundle first, on Windows, from the repository root:
;     .venv\Scripts\pip install -e ".[build]"
;     .venv\Scripts\pyinstaller --noconfirm invoicedesk.spec
;     dist\InvoiceDesk\InvoiceDesk.exe --demo --self-test   (exit status 0 = the bundle works)
; then compile this script (Inno Setup 6.3 or newer, https://jrsoftware.org/isinfo.php):
;     iscc /DAppVersion=0.1.0 packaging\windows\invoicedesk.iss
; Output: dist\InvoiceDesk-<version>-setup.exe. See docs/INSTALLER.md.
;
; Per-user install by default (no administrator rights needed: shop PCs are often locked
; down); the first page offers an all-users install to administrators. Settings, the cache
; and logs live in %LOCALAPPDATA%\InvoiceDesk and secrets in the Windows Credential Locker:
; uninstalling leaves them, so a reinstall finds everything again.

#define AppName "InvoiceDesk"
#define AppExe "InvoiceDesk.exe"
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
; Never change AppId: it is how Windows recognises upgrades of the same app.
AppId={{6F4C3B1E-8A2D-4E7B-9C15-3D2A7E9B41F0}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=InvoiceDesk
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; Qt 6.11 supports Windows 10 (1809) and 11.
MinVersion=10.0.17763
SourceDir=..\..
OutputDir=dist
OutputBaseFilename={#AppName}-{#AppVersion}-setup
SetupIconFile=resources\invoicedesk.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; Upgrading while the app runs: ask to close it instead of failing on locked DLLs.
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"
Name: "spanish"; MessagesFile: "compiler:Languages\Spanish.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the whole bundle: no stale DLL from an older Qt may stay behind.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "dist\InvoiceDesk\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autoprograms}\{#AppName} demo (sample data)"; Filename: "{app}\{#AppExe}"; Parameters: "--demo"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
