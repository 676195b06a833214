# SPDX-License-Identifier: MIT
# kiwi-auth.bash: bash completion of kiwi-auth(1), installed as
# completions/kiwi-auth where bash-completion looks for it.
#
# Commands and options come from the program's own --help, so they follow
# the installed version; service names from `kiwi-auth services --json`,
# accounts from `kiwi-auth status --json SERVICE`, scopes from the
# services' lists. Nothing here reads or prints a token: status never
# shows one.

# _kiwi_auth_run CLI ARGS...: the program with the --config the command
# line gives, stderr dropped.
_kiwi_auth_run()
{
	local cli=$1
	shift
	"$cli" ${_kiwi_auth_config:+--config "$_kiwi_auth_config"} "$@" 2>/dev/null
}

# The value of every "KEY": "VALUE" line of pretty JSON at exactly INDENT
# spaces (our own output: one key per line).
_kiwi_auth_json_values()	# INDENT KEY
{
	sed -n "s/^ \{$1\}\"$2\": \"\([^\"\\\\]*\)\",\{0,1\}\$/\1/p"
}

_kiwi_auth_commands()	# CLI: the command words of --help
{
	_kiwi_auth_run "$1" --help |
		sed -n '/^Commands:/,/^Exit status:/s/^  \([a-z][a-z-]*\)\( \|$\).*/\1/p' |
		sort -u
}

_kiwi_auth_options()	# CLI COMMAND...: the long options of its --help
{
	local cli=$1
	shift
	_kiwi_auth_run "$cli" "$@" --help | grep -o -- '--[a-z][a-z-]*' | sort -u
}

_kiwi_auth_services()	# CLI
{
	_kiwi_auth_run "$1" --json services | _kiwi_auth_json_values 6 name
}

_kiwi_auth_accounts()	# CLI SERVICE
{
	_kiwi_auth_run "$1" --json status "$2" | _kiwi_auth_json_values 6 account
}

_kiwi_auth_scopes()	# CLI [SERVICE]: the scopes of SERVICE, or of all
{
	_kiwi_auth_run "$1" --json services | awk -v want="$2" '
		/^      "name": "/ { split($0, a, "\""); name = a[4] }
		/^      "scopes": \[/ { inscopes = 1; next }
		inscopes && /^      \]/ { inscopes = 0; next }
		inscopes && (want == "" || want == name) {
			split($0, a, "\""); if (a[2] != "") print a[2]
		}'
}

_kiwi_auth()
{
	local cli=${1:-kiwi-auth} cur prev i w cmd="" sub="" service=""
	local _kiwi_auth_config=""
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=""
	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}

	# Walk the words before the cursor: global options, the command, its
	# first positional word (the service).
	i=1
	while [ "$i" -lt "$COMP_CWORD" ]; do
		w=${COMP_WORDS[i]}
		case $w in
		-C|--config|--account|--scope|--add-scope|--flow|--source|\
		--service|--resource|--chain|--expires-in|-X|-H|-d|--timeout)
			[ "$w" = -C ] || [ "$w" = --config ] &&
				_kiwi_auth_config=${COMP_WORDS[i + 1]}
			[ "$w" = --service ] && service=${COMP_WORDS[i + 1]}
			i=$((i + 2))
			continue ;;
		--config=*) _kiwi_auth_config=${w#--config=} ;;
		-*) ;;
		*)
			if [ -z "$cmd" ]; then
				cmd=$w
			elif [ "$cmd" = token ] && [ -z "$sub" ]; then
				sub=$w
			elif [ -z "$service" ]; then
				service=$w
			fi ;;
		esac
		i=$((i + 1))
	done

	case $prev in
	-C|--config|--chain)
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0 ;;
	-d)
		case $cur in
		@*) COMPREPLY=($(compgen -f -- "${cur#@}")); COMPREPLY=("${COMPREPLY[@]/#/@}") ;;
		esac
		return 0 ;;
	--account)
		[ -n "$service" ] &&
			COMPREPLY=($(compgen -W "$(_kiwi_auth_accounts "$cli" "$service")" -- "$cur"))
		return 0 ;;
	--scope|--add-scope)
		COMPREPLY=($(compgen -W "$(_kiwi_auth_scopes "$cli" "$service")" -- "$cur"))
		return 0 ;;
	--service)
		[ "$cmd" = signin ] || COMPREPLY=($(compgen -W "$(_kiwi_auth_services "$cli")" -- "$cur"))
		return 0 ;;
	--flow)
		COMPREPLY=($(compgen -W "device code client-credentials token" -- "$cur"))
		return 0 ;;
	--source)
		COMPREPLY=($(compgen -W "keyring file" -- "$cur"))
		return 0 ;;
	-X)
		COMPREPLY=($(compgen -W "GET HEAD POST PUT PATCH DELETE" -- "$cur"))
		return 0 ;;
	--expires-in|--timeout|--resource|-H)
		return 0 ;;
	esac

	if [ -z "$cmd" ]; then
		case $cur in
		-*) COMPREPLY=($(compgen -W "--config --json --verbose --help --version" -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "$(_kiwi_auth_commands "$cli")" -- "$cur")) ;;
		esac
		return 0
	fi
	if [ "$cmd" = token ] && [ -z "$sub" ]; then
		COMPREPLY=($(compgen -W "set" -- "$cur"))
		return 0
	fi
	case $cur in
	-*)
		COMPREPLY=($(compgen -W "$(_kiwi_auth_options "$cli" $cmd $sub) --help" -- "$cur"))
		return 0 ;;
	esac
	case $cmd in
	status|logout|signin|refresh|token|kube-credential)
		[ -z "$service" ] &&
			COMPREPLY=($(compgen -W "$(_kiwi_auth_services "$cli")" -- "$cur")) ;;
	esac
	return 0
}
complete -F _kiwi_auth kiwi-auth
