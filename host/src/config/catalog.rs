//! All options known to this run: the host's plus those of each loaded plugin.

use rsgi_plugin_api::OptionKind;

use super::options::HOST_OPTIONS;

/// Who owns an option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// The host itself.
    Host,
    /// The plugin with this name.
    Plugin(String),
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Owner::Host => f.write_str("the host"),
            Owner::Plugin(name) => write!(f, "plugin {name}"),
        }
    }
}

/// One known option.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Canonical long name.
    pub name: String,
    /// Other accepted names.
    pub aliases: Vec<String>,
    /// Placeholder for `--help`.
    pub value_name: String,
    /// One line of help.
    pub help: String,
    /// Flag, value or list.
    pub kind: OptionKind,
    /// Host or plugin (the first plugin, for an option several declare).
    pub owner: Owner,
    /// Other plugins that declared the same option (same kind and aliases): each gets its
    /// values too. The protocol plugins share `buffer-size` this way.
    pub shared_with: Vec<String>,
    /// A protocol plugin's option, which another protocol plugin may declare too (app
    /// plugins may not: two of them taking `--module` is a clash).
    pub shareable: bool,
}

impl Entry {
    /// The plugins that get this option's values (none for a host option).
    pub fn plugins(&self) -> impl Iterator<Item = &str> {
        let first = match &self.owner {
            Owner::Plugin(name) => Some(name.as_str()),
            Owner::Host => None,
        };
        first
            .into_iter()
            .chain(self.shared_with.iter().map(String::as_str))
    }

    /// The variables that set it: `RSGI_<NAME>` first, then one per alias
    /// (`RSGI_WORKERS` for `--processes`).
    pub fn env_names(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(&self.name)
            .chain(&self.aliases)
            .map(|n| env_name(n))
    }
}

/// `RSGI_<NAME>` of an option name: upper case, dashes turned into underscores.
pub fn env_name(name: &str) -> String {
    format!("RSGI_{}", name.to_ascii_uppercase().replace('-', "_"))
}

/// The options of the host and of every loaded plugin.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    entries: Vec<Entry>,
}

impl Catalog {
    /// A catalog holding only the host's options.
    pub fn host() -> Self {
        let entries = HOST_OPTIONS
            .iter()
            .map(|o| Entry {
                name: o.name.to_string(),
                aliases: o.aliases.iter().map(|a| a.to_string()).collect(),
                value_name: o.value_name.to_string(),
                help: o.help.to_string(),
                kind: o.kind,
                owner: Owner::Host,
                shared_with: Vec::new(),
                shareable: false,
            })
            .collect();
        Catalog { entries }
    }

    /// Adds a plugin's option. The same option (name, kind and aliases) of two protocol
    /// plugins becomes one option that both get; any other name already taken is an error
    /// naming both owners.
    pub fn add(&mut self, entry: Entry) -> Result<(), String> {
        if let (Owner::Plugin(plugin), true, Some(same)) = (
            &entry.owner,
            entry.shareable,
            self.entries.iter_mut().find(|e| {
                e.shareable
                    && e.name == entry.name
                    && e.kind == entry.kind
                    && e.aliases == entry.aliases
            }),
        ) {
            same.shared_with.push(plugin.clone());
            return Ok(());
        }
        let taken = std::iter::once(&entry.name)
            .chain(entry.aliases.iter())
            .find_map(|n| self.lookup(n).map(|e| (n.clone(), e.owner.clone())));
        if let Some((name, owner)) = taken {
            return Err(format!(
                "option --{name} of {} clashes with an option of {}",
                entry.owner, owner
            ));
        }
        self.entries.push(entry);
        Ok(())
    }

    /// Finds an option by canonical name or alias.
    pub fn lookup(&self, name: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.name == name || e.aliases.iter().any(|a| a == name))
    }

    /// All entries, host first, then plugins in load order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin_option(plugin: &str, name: &str) -> Entry {
        Entry {
            name: name.into(),
            aliases: vec![],
            value_name: String::new(),
            help: String::new(),
            kind: OptionKind::Value,
            owner: Owner::Plugin(plugin.into()),
            shared_with: Vec::new(),
            shareable: false,
        }
    }

    fn protocol_option(plugin: &str, name: &str) -> Entry {
        Entry {
            shareable: true,
            ..plugin_option(plugin, name)
        }
    }

    #[test]
    fn plugins_declaring_the_same_option_share_it() {
        let mut c = Catalog::host();
        c.add(protocol_option("uwsgi", "buffer-size")).unwrap();
        c.add(protocol_option("http", "buffer-size")).unwrap();
        assert_eq!(c.entries().len(), Catalog::host().entries().len() + 1);
        let entry = c.lookup("buffer-size").unwrap();
        assert_eq!(entry.plugins().collect::<Vec<_>>(), ["uwsgi", "http"]);
        // Another kind is a clash, not a share.
        let mut flag = protocol_option("x", "buffer-size");
        flag.kind = OptionKind::Flag;
        assert!(c.add(flag).unwrap_err().contains("clashes"));
        // An app plugin's option of that name clashes too.
        assert!(c
            .add(plugin_option("python", "buffer-size"))
            .unwrap_err()
            .contains("clashes"));
    }

    #[test]
    fn a_clash_names_both_owners_plainly() {
        let mut c = Catalog::host();
        c.add(plugin_option("python3.11", "module")).unwrap();
        let err = c.add(plugin_option("python3.13", "module")).unwrap_err();
        assert_eq!(
            err,
            "option --module of plugin python3.13 clashes with an option of plugin python3.11"
        );
        let err = c.add(plugin_option("x", "processes")).unwrap_err();
        assert_eq!(
            err,
            "option --processes of plugin x clashes with an option of the host"
        );
    }
}
