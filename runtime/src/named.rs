//! Enums that users pick by name (from an environment variable, a command-line
//! flag or a call): one macro gives such an enum its `name`, its `Display` (the
//! name) and its `FromStr` (the name back, or an error listing every name), so
//! every choice prints and parses the same way. It knows nothing of what the
//! choices mean.

/// `named_choice!(Target, "target", { Cpu => "cpu", .. })` defines
/// `Target::name`, `Display` and `FromStr` (whose error reads
/// ``unknown target `x` (expected one of: cpu, ..)``).
macro_rules! named_choice {
    ($ty:ident, $kind:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.name())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<$ty, String> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    other => Err(format!(
                        concat!("unknown ", $kind, " `{}` (expected one of: {})"),
                        other,
                        [$($name),+].join(", ")
                    )),
                }
            }
        }
    };
}

pub(crate) use named_choice;
