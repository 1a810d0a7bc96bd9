//! Man pages (`clap_mangen`) and shell completions (`clap_complete`) made from a program's own
//! clap definition, so they never drift from `--help`: `PROG --man` prints the roff page and
//! `PROG --completions bash|zsh|fish` the completion script (scripts/package.sh puts them in
//! the Debian package). Hidden, and looked at before the program parses its arguments, so a
//! program with required arguments (relayctl) serves them as well.
use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

/// If this process was run as `PROG --man` or `PROG --completions SHELL`, prints that and
/// returns the exit status; otherwise None and the program goes on. `section`: the manual
/// section, `8` for a daemon, `1` for a user command.
pub fn serve<C: CommandFactory>(section: &str) -> Option<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cmd = C::command();
    let name = cmd.get_name().to_string();
    let mut out = std::io::stdout().lock();
    let written = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["--man"] => clap_mangen::Man::new(cmd).section(section).render(&mut out).map_err(|e| e.to_string()),
        ["--completions", shell] => match shell.parse::<Shell>() {
            Ok(sh) => {
                clap_complete::generate(sh, &mut cmd, name.clone(), &mut out);
                Ok(())
            }
            Err(_) => Err(format!("--completions {shell}: a shell is bash, zsh, fish, elvish or powershell")),
        },
        _ => return None,
    };
    Some(match written.and_then(|()| out.flush().map_err(|e| e.to_string())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::from(2)
        }
    })
}
