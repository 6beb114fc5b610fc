//! The platform's file dialogs on a desktop with no dialog service (no session bus, so no
//! xdg-desktop-portal, and no zenity): every dialog answers at once that none could be shown,
//! rather than looking like a cancel. (#17 item 8.)
//!
//! The test runs itself again in a child process with an empty environment, so the dialog
//! library finds no service. On a desktop that does have one a real dialog would open and wait
//! for a person, so the test is `#[ignore]`d; `.ci/run` runs it on a machine without one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use conveyor::gui::picker::{NoDialog, Picker, RfdPicker};

const CHILD: &str = "CONVEYOR_TEST_NO_DIALOG_SERVICE";

#[cfg(target_os = "linux")]
#[test]
#[ignore = "needs a desktop without a file-dialog service (a real dialog would wait for a person)"]
fn without_a_dialog_service_every_dialog_says_so() {
    if std::env::var_os(CHILD).is_none() {
        let me = std::env::current_exe().unwrap();
        let out = std::process::Command::new(me)
            .args([
                "--exact",
                "dialogs::without_a_dialog_service_every_dialog_says_so",
                "--include-ignored",
                "--nocapture",
            ])
            .env_clear()
            .env(CHILD, "1")
            .env("PATH", "/nonexistent")
            .env("XDG_RUNTIME_DIR", "/nonexistent")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
        return;
    }
    let picker = RfdPicker;
    let answers = [
        picker.pick_folder("Choose a folder of images", None),
        picker.save_file(
            "Save report",
            "conveyor-report.json",
            &[("JSON", &["json"])],
        ),
        picker.open_file("Import a recipe", &[("Recipe", &["toml"])]),
    ];
    for answer in answers {
        match answer {
            Err(NoDialog(why)) => assert!(why.contains("no file dialog"), "{why}"),
            other => panic!("expected no dialog, got {other:?}"),
        }
    }
}
